/// Little-endian encoding into a byte array (headers and tables).
struct LittleEndianBytes {
    private(set) var bytes: [UInt8] = []

    mutating func u16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func int(_ value: Int) { u64(UInt64(value)) }
    mutating func i64(_ value: Int64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func raw(_ values: [UInt8]) { bytes += values }
    mutating func zeros(_ count: Int) { bytes += repeatElement(0, count: count) }
    mutating func padTo(_ size: Int) { zeros(max(0, size - bytes.count)) }
}
