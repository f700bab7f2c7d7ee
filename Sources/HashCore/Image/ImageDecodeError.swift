/// Why an image could not be decoded. Every case names the problem; callers add the file.
public enum ImageDecodeError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case unsupportedFormat(String)
    case fileTooLarge(bytes: Int, limit: Int)
    case invalidDimensions(width: Int, height: Int)
    case dimensionTooLarge(width: Int, height: Int, limit: Int)
    case tooManyPixels(width: Int, height: Int, limit: Int)
    case truncated(ImageFormat, String)
    case corrupt(ImageFormat, String)
    case unsupportedFeature(ImageFormat, String)
    case limitExceeded(ImageFormat, String)
    case outOfMemory(ImageFormat)

    /// A stable machine-readable name for the kind of failure (JSON `error_code`).
    public var code: String {
        switch self {
        case .empty: "empty"
        case .unsupportedFormat: "unsupported_format"
        case .fileTooLarge: "file_too_large"
        case .invalidDimensions: "invalid_dimensions"
        case .dimensionTooLarge: "dimension_too_large"
        case .tooManyPixels: "too_many_pixels"
        case .truncated: "truncated"
        case .corrupt: "corrupt"
        case .unsupportedFeature: "unsupported_feature"
        case .limitExceeded: "limit_exceeded"
        case .outOfMemory: "out_of_memory"
        }
    }

    /// True for refusals caused by a configured limit (a server answers 413 for these).
    public var isLimit: Bool {
        switch self {
        case .fileTooLarge, .dimensionTooLarge, .tooManyPixels, .limitExceeded: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .empty:
            "empty file"
        case .unsupportedFormat(let what):
            "not a JPEG, PNG or WebP image: \(what)"
        case .fileTooLarge(let bytes, let limit):
            "file of \(bytes) bytes is over the decode limit of \(limit) bytes"
        case .invalidDimensions(let width, let height):
            "image declares an invalid size of \(width)×\(height)"
        case .dimensionTooLarge(let width, let height, let limit):
            "image of \(width)×\(height) has a side over the limit of \(limit) pixels"
        case .tooManyPixels(let width, let height, let limit):
            "image of \(width)×\(height) has \(checkedProduct(width, height).map(String.init) ?? "too many") pixels, over the limit of \(limit)"
        case .truncated(let format, let detail):
            "truncated \(format.rawValue.uppercased()): \(detail)"
        case .corrupt(let format, let detail):
            "corrupt \(format.rawValue.uppercased()): \(detail)"
        case .unsupportedFeature(let format, let detail):
            "unsupported \(format.rawValue.uppercased()): \(detail)"
        case .limitExceeded(let format, let detail):
            "\(format.rawValue.uppercased()) over a decode limit: \(detail)"
        case .outOfMemory(let format):
            "out of memory decoding \(format.rawValue.uppercased())"
        }
    }
}
