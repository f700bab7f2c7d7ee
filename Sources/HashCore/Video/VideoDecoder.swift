import CFFmpeg

/// A video opened with FFmpeg's libraries, its frames decoded in order, the ones a caller asks
/// for converted to RGB exactly as Meta's vpdq converts them (docs/VIDEO.md): same demuxer,
/// decoder settings, frame numbering, drain and swscale call, so that the same libraries give
/// the same pixels.
///
/// Every FFmpeg pointer lives in this file, each owned by one object that frees it in deinit,
/// and only there: Swift runs deinit for an object whose initializer throws after setting every
/// property, so no initializer frees what it has already stored. One decoder is used by one
/// thread at a time.
final class VideoDecoder {
    let format: VideoFormat
    let width: Int
    let height: Int
    /// Frames a second, as vpdq takes it: the stream's average rate, or its base rate.
    let frameRate: Double
    /// The container's duration in seconds, when it states one.
    let durationSeconds: Double?

    private let input: FormatInput
    private let decoder: CodecContext
    private let streamIndex: Int32
    private let budget: DecodeBudget
    private let limits: VideoLimits

    /// Opens the video and its first video stream; checks the limits the header can answer.
    /// Bytes in memory are read in place (an upload is never written to disk) and must stay
    /// valid for the decoder's life.
    init(source: VideoSource, format: VideoFormat, limits: VideoLimits) throws(VideoDecodeError) {
        FFmpegLog.silence()
        self.format = format
        self.limits = limits
        budget = DecodeBudget(limit: limits.timeBudget)
        input = try FormatInput(source: source, demuxer: format.demuxer, budget: budget)
        let context = input.context
        guard let streams = context.pointee.streams,
              let index = (0..<Int(context.pointee.nb_streams)).first(where: { streams[$0]?.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO }),
              let stream = streams[index] else {
            throw .noVideoStream
        }
        streamIndex = Int32(index)
        let parameters = stream.pointee.codecpar!
        width = Int(parameters.pointee.width)
        height = Int(parameters.pointee.height)
        guard width > 0, height > 0 else { throw .invalidDimensions(width: width, height: height) }
        guard width * height <= limits.maxPixels else { throw .tooManyPixels(width: width, height: height, limit: limits.maxPixels) }

        var rate = stream.pointee.avg_frame_rate
        if rate.num == 0 || rate.den == 0 { rate = stream.pointee.r_frame_rate }
        guard rate.num > 0, rate.den > 0 else { throw .invalidFrameRate }
        frameRate = Double(rate.num) / Double(rate.den)

        let duration = context.pointee.duration
        durationSeconds = duration == hdb_av_nopts_value() || duration <= 0 ? nil : Double(duration) / Double(AV_TIME_BASE)
        if let durationSeconds, durationSeconds > limits.maxDurationSeconds {
            throw .tooLong(seconds: durationSeconds, limit: limits.maxDurationSeconds)
        }
        decoder = try CodecContext(parameters: parameters)
    }

    /// Decodes every frame in order, numbering them from 0 as the decoder returns them; for
    /// each frame `wanted` says yes to, hands `body` its RGB pixels at `outputWidth`×`outputHeight`.
    /// Frames are counted, never timed: vpdq selects by number.
    func forEachFrame(outputWidth: Int, outputHeight: Int, wanted: (Int) -> Bool,
                      _ body: (Int, RGBFrame) throws(VideoDecodeError) -> Void) throws(VideoDecodeError) -> Int {
        guard outputWidth * outputHeight <= limits.maxPixels else {
            throw .tooManyPixels(width: outputWidth, height: outputHeight, limit: limits.maxPixels)
        }
        // Made at the first frame to convert, from the decoder's size and format then (vpdq makes
        // it before decoding; the two agree whenever the header names a pixel format, and a
        // header that names none would abort inside swscale).
        var scaler: Scaler?
        let rgb = try RGBFrame(width: outputWidth, height: outputHeight)
        let packet = try Packet()
        let frame = try DecodedFrame()
        var decoded = 0

        func receiveFrames() throws(VideoDecodeError) {
            while true {
                let received = avcodec_receive_frame(decoder.context, frame.frame)
                if received == hdb_averror_eagain() || received == hdb_averror_eof() { return }
                guard received >= 0 else { throw failure(received) }
                let number = decoded
                decoded += 1
                if Double(decoded) / frameRate > limits.maxDurationSeconds {
                    throw .tooLong(seconds: Double(decoded) / frameRate, limit: limits.maxDurationSeconds)
                }
                if wanted(number) {
                    if scaler == nil {
                        let context = decoder.context.pointee
                        guard Int(context.width) * Int(context.height) <= limits.maxPixels else {
                            throw .tooManyPixels(width: Int(context.width), height: Int(context.height), limit: limits.maxPixels)
                        }
                        scaler = try Scaler(sourceWidth: context.width, sourceHeight: context.height, sourceFormat: context.pix_fmt,
                                            width: outputWidth, height: outputHeight)
                    }
                    try scaler!.convert(frame, into: rgb)
                    try body(number, rgb)
                }
                av_frame_unref(frame.frame)
                try budget.check()
            }
        }

        while true {
            let read = av_read_frame(input.context, packet.packet)
            if read < 0 {
                if budget.expired { throw .timeBudgetExceeded(limits.timeBudget) }
                break  // the end, or a read error: vpdq treats both as the end
            }
            defer { av_packet_unref(packet.packet) }
            guard packet.packet.pointee.stream_index == streamIndex else { continue }
            let sent = avcodec_send_packet(decoder.context, packet.packet)
            guard sent >= 0 else { throw failure(sent) }
            try receiveFrames()
        }
        // vpdq drains the decoder with the blank packet av_read_frame leaves behind, whose
        // stream index is 0: a video stream at another index is never drained, and its last
        // delayed frames are not hashed. Hashes equal to vpdq's need the same.
        if streamIndex == 0 {
            let sent = avcodec_send_packet(decoder.context, nil)
            if sent >= 0 || sent == hdb_averror_eof() { try receiveFrames() }
        }
        return decoded
    }

    /// A decoder error, or the time budget when it ran out: FFmpeg's interrupt callback cuts a
    /// read short, and the decoder then finds the packet damaged.
    private func failure(_ code: Int32) -> VideoDecodeError {
        budget.expired ? .timeBudgetExceeded(limits.timeBudget) : .decodeFailed(FFmpegLog.message(code))
    }
}

/// Where a video's bytes are: a file FFmpeg reads, or memory already holding them all.
enum VideoSource {
    case file(String)
    case memory(UnsafeRawBufferPointer)
}

/// RGB24 pixels of one converted frame: `height` rows of `3 × width` bytes, `rowStride` apart
/// (padded as FFmpeg's own buffers are). Valid until the next frame is converted into it.
final class RGBFrame {
    let width: Int
    let height: Int
    fileprivate let frame: UnsafeMutablePointer<AVFrame>

    fileprivate init(width: Int, height: Int) throws(VideoDecodeError) {
        guard let frame = av_frame_alloc() else { throw .decodeFailed("out of memory") }
        self.frame = frame
        self.width = width
        self.height = height
        frame.pointee.format = AV_PIX_FMT_RGB24.rawValue
        frame.pointee.width = Int32(width)
        frame.pointee.height = Int32(height)
        // Alignment 0: FFmpeg's own choice for this CPU, as vpdq allocates it (the SIMD
        // converters write whole blocks of pixels into the padding).
        // Every property is set: deinit frees the frame, also when this throws.
        let allocated = av_frame_get_buffer(frame, 0)
        guard allocated >= 0 else { throw .decodeFailed(FFmpegLog.message(allocated)) }
    }

    deinit {
        var owned: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&owned)
    }

    var pixels: UnsafePointer<UInt8> { UnsafePointer(frame.pointee.data.0!) }
    var rowStride: Int { Int(frame.pointee.linesize.0) }

    /// A copy of the pixels, rows packed.
    func image() -> RGBImage {
        var packed = [UInt8](repeating: 0, count: width * height * 3)
        packed.withUnsafeMutableBytes { target in
            for row in 0..<height {
                (target.baseAddress! + row * width * 3).copyMemory(from: pixels + row * rowStride, byteCount: width * 3)
            }
        }
        return RGBImage(width: width, height: height, pixels: packed)
    }
}

// MARK: - Owners of FFmpeg objects

/// FFmpeg's log, which writes to standard error by default: hashdb reports errors itself.
enum FFmpegLog {
    private static let silenced: Void = { av_log_set_level(AV_LOG_QUIET) }()

    static func silence() { _ = silenced }

    /// FFmpeg's text for an error code.
    static func message(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        av_strerror(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The wall-clock deadline of one decode. FFmpeg asks it through the interrupt callback while
/// it reads (a hostile file can make probing slow), the decode loop after every frame.
final class DecodeBudget {
    let limit: Duration
    private let deadline: ContinuousClock.Instant

    init(limit: Duration) {
        self.limit = limit
        deadline = .now + limit
    }

    var expired: Bool { ContinuousClock.now >= deadline }

    func check() throws(VideoDecodeError) {
        if expired { throw .timeBudgetExceeded(limit) }
    }
}

/// An open container. Only the file protocol (or hashdb's own reader of memory) and only the
/// demuxer the file's bytes named are allowed: a list of paths can never make FFmpeg fetch a
/// URL or follow a playlist to other files.
private final class FormatInput {
    let context: UnsafeMutablePointer<AVFormatContext>
    /// Kept alive for the interrupt callback, which holds it unretained.
    private let budget: DecodeBudget
    private let memory: MemoryInput?

    init(source: VideoSource, demuxer: String, budget: DecodeBudget) throws(VideoDecodeError) {
        self.budget = budget
        var context: UnsafeMutablePointer<AVFormatContext>? = avformat_alloc_context()
        guard let allocated = context else { throw .cannotOpen("out of memory") }
        allocated.pointee.interrupt_callback = AVIOInterruptCB(
            callback: { opaque in
                guard let opaque else { return 0 }
                return Unmanaged<DecodeBudget>.fromOpaque(opaque).takeUnretainedValue().expired ? 1 : 0
            },
            opaque: Unmanaged.passUnretained(budget).toOpaque())
        var url = "file:"
        switch source {
        case .file(let path):
            memory = nil
            url += path
        case .memory(let bytes):
            guard let reader = MemoryInput(bytes) else {
                var owned = context
                avformat_free_context(owned)
                owned = nil
                throw .cannotOpen("out of memory")
            }
            memory = reader
            allocated.pointee.pb = reader.context
            allocated.pointee.flags |= AVFMT_FLAG_CUSTOM_IO
            url = ""
        }
        var options: OpaquePointer?
        av_dict_set(&options, "protocol_whitelist", "file", 0)
        av_dict_set(&options, "format_whitelist", demuxer, 0)
        defer { av_dict_free(&options) }
        // On failure avformat_open_input frees the context and sets it to nil.
        let opened = FileName.withPlatformString(url) { avformat_open_input(&context, $0, nil, &options) }
        guard opened >= 0, let context else {
            throw budget.expired ? .timeBudgetExceeded(budget.limit) : .cannotOpen(FFmpegLog.message(opened))
        }
        self.context = context
        // From here on deinit closes the context, also when this initializer throws.
        let probed = avformat_find_stream_info(context, nil)
        guard probed >= 0 else {
            throw budget.expired ? .timeBudgetExceeded(budget.limit) : .cannotOpen(FFmpegLog.message(probed))
        }
    }

    deinit {
        var owned: UnsafeMutablePointer<AVFormatContext>? = context
        avformat_close_input(&owned)
    }
}

/// FFmpeg's I/O over bytes in memory: reads and seeks within them, nothing else. The bytes
/// are the caller's and outlive this reader (`VideoSource.memory`); FFmpeg's buffer is its own.
private final class MemoryInput {
    let context: UnsafeMutablePointer<AVIOContext>
    private let bytes: UnsafeRawBufferPointer
    private var position = 0
    private static let bufferSize = 64 << 10

    init?(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        guard let buffer = av_malloc(Self.bufferSize) else { return nil }
        let readPacket: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<UInt8>?, Int32) -> Int32 = { opaque, output, size in
            let input = Unmanaged<MemoryInput>.fromOpaque(opaque!).takeUnretainedValue()
            let count = min(Int(size), input.bytes.count - input.position)
            guard count > 0, let output else { return hdb_averror_eof() }
            output.update(from: input.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) + input.position, count: count)
            input.position += count
            return Int32(count)
        }
        let seek: @convention(c) (UnsafeMutableRawPointer?, Int64, Int32) -> Int64 = { opaque, offset, whence in
            let input = Unmanaged<MemoryInput>.fromOpaque(opaque!).takeUnretainedValue()
            let size = Int64(input.bytes.count)
            let target: Int64
            switch whence & ~AVSEEK_FORCE {
            case AVSEEK_SIZE: return size
            case SEEK_SET: target = offset
            case SEEK_CUR: target = Int64(input.position) + offset
            case SEEK_END: target = size + offset
            default: return -1
            }
            guard (0...size).contains(target) else { return -1 }
            input.position = Int(target)
            return target
        }
        guard let context = avio_alloc_context(buffer.assumingMemoryBound(to: UInt8.self), Int32(Self.bufferSize), 0, nil,
                                               readPacket, nil, seek) else {
            av_free(buffer)
            return nil
        }
        self.context = context
        context.pointee.opaque = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        // FFmpeg may have replaced the buffer with one of its own: free whichever it holds.
        av_freep(&context.pointee.buffer)
        var owned: UnsafeMutablePointer<AVIOContext>? = context
        avio_context_free(&owned)
    }
}

/// A decoder for one stream, set up as vpdq sets it up: the codec's default decoder, slice
/// threads where the codec has them (never frame threads), one thread otherwise.
private final class CodecContext {
    let context: UnsafeMutablePointer<AVCodecContext>

    init(parameters: UnsafeMutablePointer<AVCodecParameters>) throws(VideoDecodeError) {
        guard let codec = avcodec_find_decoder(parameters.pointee.codec_id) else {
            throw .unsupportedCodec(String(cString: avcodec_get_name(parameters.pointee.codec_id)))
        }
        guard let context = avcodec_alloc_context3(codec) else { throw .decodeFailed("out of memory") }
        self.context = context
        guard avcodec_parameters_to_context(context, parameters) >= 0 else {
            throw .decodeFailed("the stream's parameters do not fit its codec")
        }
        context.pointee.thread_count = 0
        if codec.pointee.capabilities & AV_CODEC_CAP_SLICE_THREADS != 0 {
            context.pointee.thread_type = FF_THREAD_SLICE
        } else {
            context.pointee.thread_count = 1
        }
        let opened = avcodec_open2(context, codec, nil)
        guard opened >= 0 else { throw .decodeFailed(FFmpegLog.message(opened)) }
    }

    deinit {
        var owned: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&owned)
    }
}

private final class Packet {
    let packet: UnsafeMutablePointer<AVPacket>

    init() throws(VideoDecodeError) {
        guard let packet = av_packet_alloc() else { throw .decodeFailed("out of memory") }
        self.packet = packet
    }

    deinit {
        var owned: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&owned)
    }
}

private final class DecodedFrame {
    let frame: UnsafeMutablePointer<AVFrame>

    init() throws(VideoDecodeError) {
        guard let frame = av_frame_alloc() else { throw .decodeFailed("out of memory") }
        self.frame = frame
    }

    deinit {
        var owned: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&owned)
    }
}

/// swscale to RGB24 as vpdq calls it: made once from the decoder's size and pixel format,
/// SWS_AREA and nothing else (default colour matrix and range). A frame of another size or
/// format than the one it was made for is refused: swscale would read past its planes.
private final class Scaler {
    private let context: OpaquePointer
    private let sourceWidth: Int32
    private let sourceHeight: Int32
    private let sourceFormat: AVPixelFormat

    init(sourceWidth: Int32, sourceHeight: Int32, sourceFormat: AVPixelFormat, width: Int, height: Int) throws(VideoDecodeError) {
        guard sourceWidth > 0, sourceHeight > 0 else {
            throw .invalidDimensions(width: Int(sourceWidth), height: Int(sourceHeight))
        }
        guard sourceFormat.rawValue >= 0, sws_isSupportedInput(sourceFormat) > 0 else {
            throw .decodeFailed("frames of pixel format \(sourceFormat.rawValue) cannot be converted to RGB")
        }
        guard let context = sws_getContext(sourceWidth, sourceHeight, sourceFormat, Int32(width), Int32(height),
                                           AV_PIX_FMT_RGB24, SWS_AREA, nil, nil, nil) else {
            throw .decodeFailed("cannot convert \(sourceWidth)×\(sourceHeight) frames of pixel format \(sourceFormat.rawValue) to RGB")
        }
        self.context = context
        self.sourceWidth = sourceWidth
        self.sourceHeight = sourceHeight
        self.sourceFormat = sourceFormat
    }

    deinit {
        sws_freeContext(context)
    }

    func convert(_ frame: DecodedFrame, into rgb: RGBFrame) throws(VideoDecodeError) {
        let decoded = frame.frame.pointee
        guard decoded.width == sourceWidth, decoded.height == sourceHeight, decoded.format == sourceFormat.rawValue else {
            throw .decodeFailed("the frame size or format changed mid-stream (\(decoded.width)×\(decoded.height) after \(sourceWidth)×\(sourceHeight))")
        }
        let source = Planes(frame.frame)
        let output = Planes(rgb.frame)
        let converted = sws_scale(context, source.data.map { UnsafePointer($0) }, source.linesize, 0, sourceHeight,
                                  output.data, output.linesize)
        guard converted > 0 else { throw .decodeFailed("a frame could not be converted to RGB") }
    }
}

/// The plane pointers and row strides of a frame, copied out of its fixed-size C arrays.
private struct Planes {
    let data: [UnsafeMutablePointer<UInt8>?]
    let linesize: [Int32]

    init(_ frame: UnsafeMutablePointer<AVFrame>) {
        data = withUnsafeBytes(of: frame.pointee.data) { Array($0.bindMemory(to: UnsafeMutablePointer<UInt8>?.self)) }
        linesize = withUnsafeBytes(of: frame.pointee.linesize) { Array($0.bindMemory(to: Int32.self)) }
    }
}
