import CCrypto

/// SHA-256 alone, fed in pieces: the database checksum.
public final class SHA256Stream {
    private let context: OpaquePointer

    public init() {
        guard let context = EVP_MD_CTX_new() else {
            fatalError("OpenSSL could not allocate a digest context")
        }
        self.context = context
        EVP_DigestInit_ex2(context, Digester.sha256Algorithm, nil)
    }

    deinit {
        EVP_MD_CTX_free(context)
    }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        EVP_DigestUpdate(context, bytes.baseAddress, bytes.count)
    }

    public func finish() -> Bytes32 {
        var output = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        output.withUnsafeMutableBufferPointer { buffer in
            _ = EVP_DigestFinal_ex(context, buffer.baseAddress, &length)
        }
        EVP_DigestInit_ex2(context, Digester.sha256Algorithm, nil)
        return Bytes32(bytes: output)
    }
}

/// Digests of whole files, read in large pieces (inputs that are not read as lists: an NSRL
/// database, which SQLite reads page by page).
public enum FileDigest {
    public static func sha256(path: String) throws(FileIOError) -> Bytes32 {
        let reader = try BufferedFileReader(path: path, bufferSize: 4 << 20)
        let digest = SHA256Stream()
        while let chunk = try reader.readAvailable(maximum: 4 << 20) {
            digest.update(chunk)
        }
        return digest.finish()
    }
}
