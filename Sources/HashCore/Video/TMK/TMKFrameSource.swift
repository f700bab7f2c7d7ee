import Foundation
import SystemPackage

/// The frames TMK hashes: the video decoded, scaled to 64×64 RGB and resampled to 15 frames a
/// second by the ffmpeg program, exactly as Meta's TMK gets them (it runs ffmpeg itself). The
/// program's own frame-rate conversion (`-r`, FFmpeg's command-line sync code, not a library
/// filter) decides which frames are kept or repeated; calling the same program is the only way
/// to be byte-exact on any FFmpeg (docs/VIDEO.md).
///
/// The program runs with an argument list (no shell), reads only the file (`-protocol_whitelist
/// file`, the demuxer the bytes name), and is stopped when it runs over `limits.timeBudget` or
/// would give more than `maxFrames`.
public struct TMKFrameSource: Sendable {
    public var program: String
    public var limits: VideoLimits
    /// Most 15-a-second frames taken (a 4-hour video at 15 a second is 216,000).
    public var maxFrames: Int

    public static let defaultProgram = "/usr/bin/ffmpeg"

    public init(program: String = TMKFrameSource.defaultProgram, limits: VideoLimits = .default) {
        self.program = program
        self.limits = limits
        maxFrames = Int(limits.maxDurationSeconds * Double(TMK.framesPerSecond)) + TMK.framesPerSecond
    }

    /// The arguments Meta's TMK gives ffmpeg (tmk/cpp/hashing/filehasher.cpp), with the input
    /// pinned to a local file and its demuxer.
    func arguments(path: String, format: VideoFormat) -> [String] {
        ["-nostdin", "-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file", "-f", format.demuxer,
         "-i", "file:" + path, "-s", "64:64", "-an", "-f", "rawvideo", "-c:v", "rawvideo", "-pix_fmt", "rgb24", "-r", "15", "pipe:1"]
    }

    /// Calls `body` with each frame's 12,288 bytes, in order; the number of frames.
    public func forEachFrame(path: String, format: VideoFormat, _ body: (UnsafePointer<UInt8>) -> Void) throws(VideoDecodeError) -> Int {
        try run(input: path, standardInput: FileHandle.nullDevice, format: format, body)
    }

    /// The same for a video in memory (an upload): the program reads it from a file that lives
    /// in memory only, given as its standard input, never from the disk.
    public func forEachFrame(bytes: UnsafeRawBufferPointer, format: VideoFormat, _ body: (UnsafePointer<UInt8>) -> Void) throws(VideoDecodeError) -> Int {
        let file: FileDescriptor
        do {
            file = try SystemCall.memoryFile(holding: bytes, name: "hashdb-upload")
        } catch {
            throw .cannotOpen(error.description)
        }
        defer { try? file.close() }
        // Reopened through /proc (an offset of its own, from the start), seekable as MP4 needs.
        return try run(input: "/proc/self/fd/0", standardInput: FileHandle(fileDescriptor: file.rawValue, closeOnDealloc: false), format: format, body)
    }

    private func run(input path: String, standardInput: FileHandle, format: VideoFormat,
                     _ body: (UnsafePointer<UInt8>) -> Void) throws(VideoDecodeError) -> Int {
        guard FileManager.default.isExecutableFile(atPath: program) else {
            throw .cannotOpen("the ffmpeg program (\(program)) is not installed: TMK needs it (apt-get install ffmpeg)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments(path: path, format: format)
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = standardInput
        do {
            try process.run()
        } catch {
            throw .cannotOpen("cannot run \(program): \(error.localizedDescription)")
        }
        // The program is stopped when the budget runs out; its error output is kept (a little).
        let deadline = DispatchTime.now() + .milliseconds(Int(limits.timeBudget.seconds * 1000))
        let expired = Monitor(false)
        let watchdog = DispatchWorkItem {
            if process.isRunning {
                expired.withLock { $0 = true }
                process.terminate()
            }
        }
        DispatchQueue.global().asyncAfter(deadline: deadline, execute: watchdog)
        let errorText = Monitor([UInt8]())
        let errorReader = Thread {
            while let chunk = try? errors.fileHandleForReading.read(upToCount: 4096), !chunk.isEmpty {
                errorText.withLock { if $0.count < 4096 { $0 += chunk.prefix(4096 - $0.count) } }
            }
        }
        errorReader.start()
        defer { watchdog.cancel() }

        var frame = [UInt8](repeating: 0, count: TMK.frameBytes)
        var filled = 0
        var frames = 0
        var tooMany = false
        let reader = output.fileHandleForReading
        while let chunk = try? reader.read(upToCount: 1 << 16), !chunk.isEmpty {
            var offset = 0
            while offset < chunk.count {
                let take = min(TMK.frameBytes - filled, chunk.count - offset)
                frame.withUnsafeMutableBytes { target in
                    chunk.withUnsafeBytes { source in
                        (target.baseAddress! + filled).copyMemory(from: source.baseAddress! + offset, byteCount: take)
                    }
                }
                filled += take
                offset += take
                if filled == TMK.frameBytes {
                    guard frames < maxFrames else {
                        tooMany = true
                        break
                    }
                    frame.withUnsafeBufferPointer { body($0.baseAddress!) }
                    frames += 1
                    filled = 0
                }
            }
            if tooMany { break }
        }
        if tooMany, process.isRunning { process.terminate() }
        process.waitUntilExit()
        if tooMany { throw .tooManyFrames(limit: maxFrames) }
        if expired.withLock({ $0 }) { throw .timeBudgetExceeded(limits.timeBudget) }
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let message = String(decoding: errorText.withLock { $0 }, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw .decodeFailed("ffmpeg exited with status \(process.terminationStatus)" + (message.isEmpty ? "" : ": " + message))
        }
        guard filled == 0 else { throw .decodeFailed("ffmpeg's output ends inside a frame") }
        guard frames > 0 else { throw .noVideoStream }
        return frames
    }
}

extension TMK {
    /// The TMK+PDQF features of the video at `path` (`format` told by its bytes).
    public static func hash(path: String, format: VideoFormat, source: TMKFrameSource = TMKFrameSource()) throws(VideoDecodeError) -> TMKFeatures {
        try hash { body throws(VideoDecodeError) in try source.forEachFrame(path: path, format: format, body) }
    }

    /// The same of a video in memory.
    public static func hash(bytes: UnsafeRawBufferPointer, format: VideoFormat, source: TMKFrameSource = TMKFrameSource()) throws(VideoDecodeError) -> TMKFeatures {
        try hash { body throws(VideoDecodeError) in try source.forEachFrame(bytes: bytes, format: format, body) }
    }

    private static func hash(_ frames: ((UnsafePointer<UInt8>) -> Void) throws(VideoDecodeError) -> Int) throws(VideoDecodeError) -> TMKFeatures {
        let feature = PDQFloatFeature()
        var features = TMKFeatures()
        _ = try frames { rgb in
            feature.compute(rgb: rgb)
            features.add(feature.output)
        }
        features.finish()
        return features
    }
}
