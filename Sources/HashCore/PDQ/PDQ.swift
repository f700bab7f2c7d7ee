#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Meta's PDQ perceptual hash, one stage per function, each giving the same float results as
/// the reference (github.com/facebook/ThreatExchange, pdq/cpp) computed through its Python
/// bindings (pdqhash), which is how the conformance set's expected values were made.
///
/// Stages: luma → Jarosz box filter (two passes along rows, then columns) → decimate to 64×64
/// → quality metric → 16×16 DCT → threshold at the median. Every stage keeps the reference's
/// float operation order; what differs is only the order in which independent rows or
/// columns are visited, which is what makes the column pass cache-friendly here.
public enum PDQ {
    /// Hashes of images with lower quality are not meaningful (blank, near-uniform images).
    public static let qualityThreshold = 50
    /// The distance at or below which two PDQ hashes are conventionally a match.
    public static let matchThreshold = 31
    /// The widest radius an allowlist hash may suppress: further out, unrelated images start
    /// to fall inside (random hashes lie about 128 apart).
    public static let maximumAllowRadius = 64
    /// Smaller images hash to all zeroes with quality 0, as in the reference.
    public static let minimumDimension = 5
    static let downsampledSize = 64
    static let dctSize = 16

    // MARK: Stage 1: luma

    /// Luma as the reference's Python bindings compute it: in double precision, left to right,
    /// rounded once to float. (The C++ command-line tool computes it in float, which differs in
    /// the last bit for some pixels; hash lists in the wild come from the Python path.)
    static func luma(of image: RGBImage, into luma: UnsafeMutablePointer<Float>) {
        image.pixels.withUnsafeBufferPointer { rgb in
            for index in 0..<(image.width * image.height) {
                luma[index] = Self.luma(rgb.baseAddress! + 3 * index)
            }
        }
    }

    /// R·0.299 + G·0.587 in double for every (R, G), indexed by R | G << 8 (the two bytes
    /// read as a little-endian UInt16), and B·0.114 for every B: adding the two looked-up
    /// doubles is the very same arithmetic as `luma(_:)`, with fewer instructions.
    static let redGreenProducts: [Double] = {
        var products = [Double](repeating: 0, count: 1 << 16)
        for green in 0..<256 {
            for red in 0..<256 {
                products[red | green << 8] = Double(red) * 0.299 + Double(green) * 0.587
            }
        }
        return products
    }()

    static let blueProducts: [Double] = (0..<256).map { Double($0) * 0.114 }

    @inline(__always)
    static func luma(_ pixel: UnsafePointer<UInt8>, redGreen: UnsafePointer<Double>, blue: UnsafePointer<Double>) -> Float {
        let redAndGreen = Int(UInt16(littleEndian: UnsafeRawPointer(pixel).loadUnaligned(as: UInt16.self)))
        return Float(redGreen[redAndGreen] + blue[Int(pixel[2])])
    }

    @inline(__always)
    static func luma(_ pixel: UnsafePointer<UInt8>) -> Float {
        Float(Double(pixel[0]) * 0.299 + Double(pixel[1]) * 0.587 + Double(pixel[2]) * 0.114)
    }

    /// Luma as vPDQ computes it for video frames (pdq's float path, which vpdq calls): in single
    /// precision, each product and each sum rounded to float, left to right. `rgb` holds `rows`
    /// rows of `3 × columns` bytes, `rowStride` bytes apart.
    @_optimize(speed)
    static func frameLuma(rgb: UnsafePointer<UInt8>, rows: Int, columns: Int, rowStride: Int, into luma: UnsafeMutablePointer<Float>) {
        for row in 0..<rows {
            let line = rgb + row * rowStride
            let output = luma + row * columns
            for column in 0..<columns {
                let pixel = line + 3 * column
                let red: Float = 0.299 * Float(pixel[0])
                let green: Float = 0.587 * Float(pixel[1])
                let blue: Float = 0.114 * Float(pixel[2])
                output[column] = red + green + blue
            }
        }
    }

    // MARK: Stage 2: Jarosz filter (box filter applied twice)
    //
    // The filter's loops are compiled optimized even in debug builds (`@_optimize(speed)`):
    // a video's every frame goes through them at full size, and the conformance tests hash
    // 5,872 frames. Optimization keeps IEEE float semantics (no reassociation, no contraction),
    // so the results are those of the release build.

    /// Box-filter window for one side: a 64th of it, halved because the filter runs twice,
    /// rounded up.
    static func jaroszWindowSize(_ dimension: Int) -> Int {
        (dimension + 2 * downsampledSize - 1) / (2 * downsampledSize)
    }

    /// The reference's 1-D box filter: a running sum that grows over the first half window,
    /// slides, then shrinks, dividing by the number of samples it holds.
    @_optimize(speed)
    static func boxFilter1D(
        _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
        length: Int, stride: Int, window: Int
    ) {
        let halfWindow = (window + 2) / 2
        var sum: Float = 0
        var held = 0
        var readIndex = 0
        var leftIndex = 0
        var writeIndex = 0
        for _ in 0..<(halfWindow - 1) {
            sum += input[readIndex]
            held += 1
            readIndex += stride
        }
        for _ in 0..<(window - halfWindow + 1) {
            sum += input[readIndex]
            held += 1
            output[writeIndex] = sum / Float(held)
            readIndex += stride
            writeIndex += stride
        }
        for _ in 0..<max(0, length - window) {
            sum += input[readIndex]
            sum -= input[leftIndex]
            output[writeIndex] = sum / Float(held)
            leftIndex += stride
            readIndex += stride
            writeIndex += stride
        }
        for _ in 0..<(halfWindow - 1) {
            sum -= input[leftIndex]
            held -= 1
            output[writeIndex] = sum / Float(held)
            leftIndex += stride
            writeIndex += stride
        }
    }

    @_optimize(speed)
    static func boxFilterAlongRows(
        _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
        rows: Int, columns: Int, window: Int
    ) {
        for row in 0..<rows {
            boxFilter1D(input + row * columns, output + row * columns, length: columns, stride: 1, window: window)
        }
    }

    /// The same filter down every column at once, one running sum per column, rows visited
    /// in order (see `ColumnBoxFilter`). `sums` holds `columns` floats of scratch. With
    /// `keepingRows` (ascending, repeats allowed), only those output rows are computed, written
    /// one after another.
    @_optimize(speed)
    static func boxFilterAlongColumns(
        _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
        rows: Int, columns: Int, window: Int, sums: UnsafeMutablePointer<Float>,
        keepingRows keep: [Int]? = nil
    ) {
        var filter = ColumnBoxFilter(rows: rows, columns: columns, window: window, sums: sums)
        guard let keep else {
            for row in 0..<rows {
                filter.step(output: output + row * columns) { input + $0 * columns }
            }
            return
        }
        var nextKept = 0
        for row in 0..<rows {
            let first = nextKept
            while nextKept < keep.count && keep[nextKept] == row {
                nextKept += 1
            }
            let target = output + first * columns
            filter.step(output: nextKept > first ? target : nil) { input + $0 * columns }
            for copy in (first + 1)..<max(first + 1, nextKept) {
                (output + copy * columns).update(from: target, count: columns)
            }
        }
    }

    /// Two passes of rows-then-columns box filtering; the result ends in `buffer`.
    static func jaroszFilter(
        _ buffer: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
        rows: Int, columns: Int, sums: UnsafeMutablePointer<Float>
    ) {
        let windowAlongRows = jaroszWindowSize(columns)
        let windowAlongColumns = jaroszWindowSize(rows)
        for _ in 0..<2 {
            boxFilterAlongRows(buffer, scratch, rows: rows, columns: columns, window: windowAlongRows)
            boxFilterAlongColumns(scratch, buffer, rows: rows, columns: columns, window: windowAlongColumns, sums: sums)
        }
    }

    // MARK: Stage 3: decimation and quality

    /// The row (or column) at the centre of each of the 64 cells along a side of `size`.
    static func decimationIndices(_ size: Int) -> [Int] {
        (0..<downsampledSize).map { Int(((Double($0) + 0.5) * Double(size)) / Double(downsampledSize)) }
    }

    /// Samples the filtered image at the centres of a 64×64 grid of cells.
    @_optimize(speed)
    static func decimate(_ input: UnsafePointer<Float>, rows: Int, columns: Int, into output: UnsafeMutablePointer<Float>) {
        let rowIndices = decimationIndices(rows)
        let columnIndices = decimationIndices(columns)
        for (outRow, inRow) in rowIndices.enumerated() {
            for (outColumn, inColumn) in columnIndices.enumerated() {
                output[outRow * downsampledSize + outColumn] = input[inRow * columns + inColumn]
            }
        }
    }

    /// The reference's heuristic: the sum of quantised gradients of the 64×64 image, scaled
    /// so that 100 means plenty of detail.
    static func quality(of block: UnsafePointer<Float>) -> Int {
        let size = downsampledSize
        var gradientSum = 0
        @inline(__always) func step(_ u: Float, _ v: Float) -> Int {
            abs(Int((u - v) * 100 / 255))
        }
        for row in 0..<(size - 1) {
            for column in 0..<size {
                gradientSum += step(block[row * size + column], block[(row + 1) * size + column])
            }
        }
        for row in 0..<size {
            for column in 0..<(size - 1) {
                gradientSum += step(block[row * size + column], block[row * size + column + 1])
            }
        }
        return min(gradientSum / 90, 100)
    }

    // MARK: Stage 4: DCT

    /// Rows 1...16 of the 64-point DCT-II matrix, 16×64 row-major, computed as the reference
    /// does: a float scale factor times a double cosine, rounded to float.
    static let dctMatrix: [Float] = {
        let scale = Float((2.0 / Double(downsampledSize)).squareRoot())
        var matrix = [Float](repeating: 0, count: dctSize * downsampledSize)
        for i in 0..<dctSize {
            for j in 0..<downsampledSize {
                let angle = (Double.pi / 2.0 / Double(downsampledSize)) * Double(i + 1) * Double(2 * j + 1)
                matrix[i * downsampledSize + j] = Float(Double(scale) * cos(angle))
            }
        }
        return matrix
    }()

    /// The same matrix transposed (64×16), so that the second product reads it row by row.
    static let dctMatrixTransposed: [Float] = {
        var transposed = [Float](repeating: 0, count: dctSize * downsampledSize)
        for i in 0..<dctSize {
            for j in 0..<downsampledSize {
                transposed[j * dctSize + i] = dctMatrix[i * downsampledSize + j]
            }
        }
        return transposed
    }()

    /// B = D · A · Dᵀ for a 64×64 A, giving the 16×16 low frequencies (1...16 on each axis).
    /// Each output sums its 64 products in index order, as the reference does; the vector
    /// lanes are independent outputs.
    static func dct64To16(
        _ block: UnsafePointer<Float>, temporary: UnsafeMutablePointer<Float>, into output: UnsafeMutablePointer<Float>
    ) {
        let n = downsampledSize
        dctMatrix.withUnsafeBufferPointer { d in
            // T = D · A, 16×64: T[i][j] = Σk D[i][k]·A[k][j], 64 j's at a time.
            for i in 0..<dctSize {
                let sums = UnsafeMutableRawPointer(temporary + i * n)
                sums.initializeMemory(as: Float.self, repeating: 0, count: n)
                for k in 0..<n {
                    let coefficient = SIMD8<Float>(repeating: d[i * n + k])
                    let row = UnsafeRawPointer(block + k * n)
                    for offset in stride(from: 0, to: n * 4, by: 32) {
                        let sum = sums.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
                        let value = row.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
                        sums.storeBytes(of: sum + coefficient * value, toByteOffset: offset, as: SIMD8<Float>.self)
                    }
                }
            }
        }
        dctMatrixTransposed.withUnsafeBufferPointer { dt in
            // B = T · Dᵀ, 16×16: B[i][j] = Σk T[i][k]·D[j][k], 16 j's at a time.
            let columns = UnsafeRawPointer(dt.baseAddress!)
            for i in 0..<dctSize {
                var sums = SIMD16<Float>.zero
                for k in 0..<n {
                    let column = columns.loadUnaligned(fromByteOffset: k * dctSize * 4, as: SIMD16<Float>.self)
                    sums = sums + SIMD16<Float>(repeating: temporary[i * n + k]) * column
                }
                UnsafeMutableRawPointer(output + i * dctSize).storeBytes(of: sums, as: SIMD16<Float>.self)
            }
        }
    }

    // MARK: Stage 5: threshold

    /// Torben's median (the reference's choice): no copy, no sort, exact.
    static func torbenMedian(_ values: UnsafePointer<Float>, count: Int) -> Float {
        var minimum = values[0]
        var maximum = values[0]
        for index in 1..<count {
            minimum = min(minimum, values[index])
            maximum = max(maximum, values[index])
        }
        let half = (count + 1) / 2
        var less = 0
        var greater = 0
        var equal = 0
        var guess: Float = 0
        var maxLessThanGuess: Float = 0
        var minGreaterThanGuess: Float = 0
        while true {
            guess = (minimum + maximum) / 2
            less = 0
            greater = 0
            equal = 0
            maxLessThanGuess = minimum
            minGreaterThanGuess = maximum
            for index in 0..<count {
                let value = values[index]
                if value < guess {
                    less += 1
                    if value > maxLessThanGuess { maxLessThanGuess = value }
                } else if value > guess {
                    greater += 1
                    if value < minGreaterThanGuess { minGreaterThanGuess = value }
                } else {
                    equal += 1
                }
            }
            if less <= half && greater <= half {
                break
            } else if less > greater {
                maximum = maxLessThanGuess
            } else {
                minimum = minGreaterThanGuess
            }
        }
        if less >= half {
            return maxLessThanGuess
        } else if less + equal >= half {
            return guess
        } else {
            return minGreaterThanGuess
        }
    }

    /// One bit per coefficient: set when it is above the median of all 256.
    static func threshold(_ dct: UnsafePointer<Float>) -> PDQHash {
        let median = torbenMedian(dct, count: dctSize * dctSize)
        var hash = PDQHash.zero
        for index in 0..<(dctSize * dctSize) where dct[index] > median {
            hash.setBit(index)
        }
        return hash
    }

    /// The DCT of the transformed image, from the original's DCT: a transpose for the four
    /// transforms that swap axes, and sign flips of odd frequencies for the mirrored axes.
    static func transformDCT(_ a: UnsafePointer<Float>, _ transform: DihedralTransform, into b: UnsafeMutablePointer<Float>) {
        let n = dctSize
        for i in 0..<n {
            for j in 0..<n {
                let value = a[i * n + j]
                let iOdd = i & 1 == 1
                let jOdd = j & 1 == 1
                switch transform {
                case .original: b[i * n + j] = value
                case .rotate90: b[j * n + i] = jOdd ? value : -value
                case .rotate180: b[i * n + j] = (iOdd != jOdd) ? -value : value
                case .rotate270: b[j * n + i] = iOdd ? value : -value
                case .flipX: b[i * n + j] = iOdd ? value : -value
                case .flipY: b[i * n + j] = jOdd ? value : -value
                case .flipPlus1: b[j * n + i] = value
                case .flipMinus1: b[j * n + i] = (iOdd != jOdd) ? -value : value
                }
            }
        }
    }
}

/// The reference's box filter (`boxFilter1D`) down every column at once: one running sum per
/// column, advanced a whole row at a time, so that each column sees exactly the float
/// operations `boxFilter1D` does with stride `columns` while memory is read row by row instead
/// of column by column (the reference's cache-hostile hot spot).
///
/// `step` produces the next output row. It reads input rows from `lastRowNeeded` back to a
/// window behind, so a caller may feed rows as they are made and drop older ones.
struct ColumnBoxFilter {
    let rows: Int
    let window: Int
    let halfWindow: Int
    let sums: UnsafeMutablePointer<Float>
    let vector: RowVectorOps
    private var held = 0
    private var readRow = 0
    private var leftRow = 0
    private(set) var writeRow = 0

    init(rows: Int, columns: Int, window: Int, sums: UnsafeMutablePointer<Float>) {
        self.rows = rows
        self.window = window
        halfWindow = (window + 2) / 2
        self.sums = sums
        vector = RowVectorOps(columns: columns)
        sums.initialize(repeating: 0, count: columns)
    }

    /// The last input row the next `step` reads (it may be past the end: then it reads none).
    var lastRowNeeded: Int { writeRow == 0 ? halfWindow - 1 : readRow }

    /// Computes output row `writeRow` into `output` (nil: advance without the division).
    @_optimize(speed)
    mutating func step(output: UnsafeMutablePointer<Float>?, input row: (Int) -> UnsafePointer<Float>) {
        if writeRow == 0 {
            for _ in 0..<(halfWindow - 1) {
                vector.add(row(readRow), to: sums)
                held += 1
                readRow += 1
            }
        }
        if writeRow < window - halfWindow + 1 {
            vector.add(row(readRow), to: sums)
            held += 1
            readRow += 1
        } else if writeRow < rows - halfWindow + 1 {
            vector.slide(adding: row(readRow), subtracting: row(leftRow), sums: sums)
            readRow += 1
            leftRow += 1
        } else {
            vector.subtract(row(leftRow), from: sums)
            held -= 1
            leftRow += 1
        }
        if let output {
            vector.divide(sums, by: Float(held), into: output)
        }
        writeRow += 1
    }
}

/// Element-wise row operations for the column pass, eight floats at a time with a scalar tail.
/// Each element gets exactly one float operation per call, in the order the call names them.
struct RowVectorOps {
    let columns: Int

    @inline(__always)
    @_optimize(speed)
    func add(_ row: UnsafePointer<Float>, to sums: UnsafeMutablePointer<Float>) {
        var column = 0
        while column + 8 <= columns {
            let s = UnsafeRawPointer(sums + column).loadUnaligned(as: SIMD8<Float>.self)
            let r = UnsafeRawPointer(row + column).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(sums + column).storeBytes(of: s + r, as: SIMD8<Float>.self)
            column += 8
        }
        while column < columns {
            sums[column] += row[column]
            column += 1
        }
    }

    @inline(__always)
    @_optimize(speed)
    func subtract(_ row: UnsafePointer<Float>, from sums: UnsafeMutablePointer<Float>) {
        var column = 0
        while column + 8 <= columns {
            let s = UnsafeRawPointer(sums + column).loadUnaligned(as: SIMD8<Float>.self)
            let r = UnsafeRawPointer(row + column).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(sums + column).storeBytes(of: s - r, as: SIMD8<Float>.self)
            column += 8
        }
        while column < columns {
            sums[column] -= row[column]
            column += 1
        }
    }

    /// sums = (sums + added) − subtracted, element by element, in that order.
    @inline(__always)
    @_optimize(speed)
    func slide(adding added: UnsafePointer<Float>, subtracting subtracted: UnsafePointer<Float>, sums: UnsafeMutablePointer<Float>) {
        var column = 0
        while column + 8 <= columns {
            let s = UnsafeRawPointer(sums + column).loadUnaligned(as: SIMD8<Float>.self)
            let a = UnsafeRawPointer(added + column).loadUnaligned(as: SIMD8<Float>.self)
            let b = UnsafeRawPointer(subtracted + column).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(sums + column).storeBytes(of: (s + a) - b, as: SIMD8<Float>.self)
            column += 8
        }
        while column < columns {
            sums[column] = (sums[column] + added[column]) - subtracted[column]
            column += 1
        }
    }

    @inline(__always)
    @_optimize(speed)
    func divide(_ sums: UnsafePointer<Float>, by divisor: Float, into output: UnsafeMutablePointer<Float>) {
        let divisors = SIMD8<Float>(repeating: divisor)
        var column = 0
        while column + 8 <= columns {
            let s = UnsafeRawPointer(sums + column).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(output + column).storeBytes(of: s / divisors, as: SIMD8<Float>.self)
            column += 8
        }
        while column < columns {
            output[column] = sums[column] / divisor
            column += 1
        }
    }
}
