import CShims
import Foundation

/// A first-in first-out window of fixed length over a stream: `push` returns the element that
/// entered `length` pushes earlier, so work on an element can start (a prefetch) that long
/// before it is used; `pop` drains the rest in order.
struct LookaheadWindow<Element> {
    private var elements: [Element] = []
    private var oldest = 0
    private let length: Int

    init(length: Int) {
        precondition(length > 0)
        self.length = length
        elements.reserveCapacity(length)
    }

    mutating func push(_ element: Element) -> Element? {
        guard elements.count == length else {
            elements.append(element)
            return nil
        }
        let due = elements[oldest]
        elements[oldest] = element
        oldest = (oldest + 1) % length
        return due
    }

    mutating func pop() -> Element? {
        guard !elements.isEmpty else { return nil }
        // Once not full, `elements` is drained from `oldest`, wrapping around.
        let index = oldest % elements.count
        let due = elements.remove(at: index)
        oldest = elements.isEmpty ? 0 : index % elements.count
        return due
    }
}
