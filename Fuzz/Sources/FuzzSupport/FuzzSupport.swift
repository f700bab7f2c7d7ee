@_exported import HashCore
import Foundation

/// A scratch file per fuzzing process, for the targets whose code under test reads a path.
public enum FuzzScratch {
    public static let path = FileManager.default.temporaryDirectory.appendingPathComponent("hashdb-fuzz-\(getpid())").path

    /// Writes the input to the scratch file (replacing it).
    public static func write(_ data: UnsafePointer<UInt8>, _ size: Int) -> String {
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size))
        return path
    }
}

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// Hands the process to libFuzzer. SwiftPM names an executable's entry point `<Target>_main`
/// and links `main` to it, so each target defines that symbol and calls this (libFuzzer's own
/// `main` would otherwise be the entry point).
public func runFuzzer(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt {
    var count = argc
    var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&count, &arguments, callback)
}
