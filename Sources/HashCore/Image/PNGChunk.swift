/// PNG chunks as the fixtures, the quality benchmark and the tests write them: length, type,
/// data, CRC-32 (ISO 3309).
public enum PNGChunk {
    public static func make(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return bigEndian(UInt32(data.count)) + body + bigEndian(crc32(body))
    }

    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
        }
        return ~crc
    }

    public static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    /// A zlib stream that inflates to `prefix` (bytes under 144) and then zeros, `count` bytes in
    /// all, about 1/160 of that size: DEFLATE's fixed Huffman codes, literals, then copies of 258
    /// bytes at distance 1.
    public static func zlibZeros(_ count: Int, prefix: [UInt8] = []) -> [UInt8] {
        var bytes: [UInt8] = []
        var current: UInt32 = 0
        var filled = 0
        func bits(_ value: UInt32, _ width: Int) {  // least significant bit first
            for index in 0..<width {
                current |= ((value >> UInt32(index)) & 1) << UInt32(filled)
                filled += 1
                if filled == 8 { bytes.append(UInt8(current)); current = 0; filled = 0 }
            }
        }
        func code(_ value: UInt32, _ width: Int) {  // Huffman codes go most significant bit first
            for index in (0..<width).reversed() { bits((value >> UInt32(index)) & 1, 1) }
        }
        bits(1, 1)  // the final block
        bits(1, 2)  // fixed Huffman codes
        for byte in prefix + [0] { code(0x30 + UInt32(byte), 8) }  // literals
        var remaining = count - prefix.count - 1
        while remaining >= 258 {
            code(0b1100_0101, 8)  // length 258 (code 285)
            code(0, 5)  // distance 1
            remaining -= 258
        }
        for _ in 0..<remaining { code(0x30, 8) }
        code(0, 7)  // end of block
        if filled > 0 { bytes.append(UInt8(current)) }
        var a: UInt32 = 1
        var b: UInt32 = 0
        for index in 0..<count {
            a = (a + UInt32(index < prefix.count ? prefix[index] : 0)) % 65_521
            b = (b + a) % 65_521
        }
        return [0x78, 0x01] + bytes + bigEndian(b << 16 | a)
    }
}
