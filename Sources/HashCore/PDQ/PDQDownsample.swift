/// The fast path from RGB pixels to PDQ's 64×64 image: luma, the Jarosz filter and
/// decimation with the same float results as `PDQ.luma`, `PDQ.jaroszFilter` and
/// `PDQ.decimate` in turn (the tests hold it to that), computing only what the 64×64 result
/// depends on and keeping the intermediate images in cache-sized rings of rows:
///
/// 1. Rows, from RGB: luma computed on the fly, eight rows at a time (one per vector lane),
///    into a ring of rows just deep enough for the column filter's window.
/// 2. Columns, all at once, one output row at a time, as the rows they need arrive.
/// 3. Rows again, eight at a time, kept only at the 64 sampled columns.
/// 4. Columns again, over those 64 columns, written only at the 64 sampled rows.
extension PDQ {
    /// Working memory for `downsample`, sized for the largest image seen so far.
    struct DownsampleBuffers: ~Copyable {
        var filteredRows = ScratchBuffer<Float>()
        var columnFiltered = ScratchBuffer<Float>()
        var sampledColumns = ScratchBuffer<Float>()
        var columnSums = ScratchBuffer<Float>()
        var trailing = ScratchBuffer<SIMD8<Float>>()
        var tile = ScratchBuffer<SIMD8<Float>>()
        var keptSums = ScratchBuffer<SIMD8<Float>>()
        var keptHeld = ScratchBuffer<Float>()

        mutating func releaseIfLarge() {
            filteredRows.releaseIfLarge()
            columnFiltered.releaseIfLarge()
            sampledColumns.releaseIfLarge()
        }
    }

    /// An image's luma (double-precision, as pdqhash computes it) blurred and decimated to 64×64.
    static func downsample(
        rgb: UnsafePointer<UInt8>, rows: Int, columns: Int,
        buffers: inout DownsampleBuffers, into block: UnsafeMutablePointer<Float>
    ) {
        blueProducts.withUnsafeBufferPointer { blue in
            redGreenProducts.withUnsafeBufferPointer { redGreen in
                downsample(rows: rows, columns: columns, buffers: &buffers, into: block) { firstRow in
                    LumaRowGroup(rgb: rgb, firstRow: firstRow, rows: rows, rowStride: 3 * columns,
                                 redGreen: redGreen.baseAddress!, blue: blue.baseAddress!)
                }
            }
        }
    }

    /// A video frame's luma (single-precision, as vpdq computes it: `frameLuma`) blurred and
    /// decimated to 64×64; rows `rowStride` bytes apart.
    static func downsampleFrame(
        rgb: UnsafePointer<UInt8>, rows: Int, columns: Int, rowStride: Int,
        buffers: inout DownsampleBuffers, into block: UnsafeMutablePointer<Float>
    ) {
        frameBlueProducts.withUnsafeBufferPointer { blue in
            frameRedGreenProducts.withUnsafeBufferPointer { redGreen in
                downsample(rows: rows, columns: columns, buffers: &buffers, into: block) { firstRow in
                    FrameLumaRowGroup(rgb: rgb, firstRow: firstRow, rows: rows, rowStride: rowStride,
                                      redGreen: redGreen.baseAddress!, blue: blue.baseAddress!)
                }
            }
        }
    }

    /// 0.299·R + 0.587·G in float for every (R, G), indexed by R | G << 8, and 0.114·B in float:
    /// adding the two looked-up floats is the very same arithmetic as `frameLuma`.
    static let frameRedGreenProducts: [Float] = {
        var products = [Float](repeating: 0, count: 1 << 16)
        for green in 0..<256 {
            for red in 0..<256 {
                let r: Float = 0.299 * Float(red)
                let g: Float = 0.587 * Float(green)
                products[red | green << 8] = r + g
            }
        }
        return products
    }()

    static let frameBlueProducts: [Float] = (0..<256).map { (0.114 as Float) * Float($0) }

    /// The fused filter: luma from `makeSource`, eight rows at a time, box-filtered along rows
    /// and columns twice and sampled at the 64×64 cell centres, in the reference's float order.
    static func downsample<Source: EightRowSource>(
        rows: Int, columns: Int, buffers: inout DownsampleBuffers, into block: UnsafeMutablePointer<Float>,
        makeSource: (_ firstRow: Int) -> Source
    ) {
        let windowAlongRows = jaroszWindowSize(columns)
        let windowAlongColumns = jaroszWindowSize(rows)
        let keptColumns = decimationIndices(columns)
        let kept = keptColumns.count
        // Pass 1 output: a ring of rows. The column filter reads rows from its trailing edge
        // up to half a window ahead of the row it writes; pass 1 fills eight rows at a time.
        // A multiple of 8 rows, so that a group of eight never wraps.
        let ringRows = (windowAlongColumns + 8 + 7) / 8 * 8
        let filteredRows = buffers.filteredRows.reserve(ringRows * columns)
        let columnFiltered = buffers.columnFiltered.reserve(8 * columns)
        let sampledColumns = buffers.sampledColumns.reserve((rows + 7) / 8 * 8 * kept)
        let columnSums = buffers.columnSums.reserve(max(columns, downsampledSize))
        let trailing = buffers.trailing.reserve(windowAlongRows)
        let tile = buffers.tile.reserve(8)
        let keptSums = buffers.keptSums.reserve(kept)
        let keptHeld = buffers.keptHeld.reserve(kept)

        keptColumns.withUnsafeBufferPointer { keep in
            var rowsFiltered = 0
            /// Pass 1 for the next eight rows.
            func filterNextRows() {
                let source = makeSource(rowsFiltered)
                let sink = EightRowWriter(first: filteredRows + (rowsFiltered % ringRows) * columns, stride: columns, tile: tile)
                boxFilterEightRows(source, columns: columns, window: windowAlongRows, trailing: trailing) { column, sum, held in
                    sink.write(sum / SIMD8(repeating: held), at: column, last: column == columns - 1)
                }
                rowsFiltered += 8
            }
            var columnFilter = ColumnBoxFilter(rows: rows, columns: columns, window: windowAlongColumns, sums: columnSums)
            for group in stride(from: 0, to: rows, by: 8) {
                // Pass 2 for rows group..<group + 8.
                for row in group..<min(group + 8, rows) {
                    while rowsFiltered <= min(rows - 1, columnFilter.lastRowNeeded) {
                        filterNextRows()
                    }
                    columnFilter.step(output: columnFiltered + (row - group) * columns) { UnsafePointer(filteredRows + ($0 % ringRows) * columns) }
                }
                // Pass 3 on them: the running sums still walk every column, but only the 64
                // sampled columns are kept, as sums divided afterwards, so that the hot loop
                // does no division.
                let source = FloatRowGroup(first: columnFiltered, firstRow: 0, rows: min(8, rows - group), columns: columns)
                var next = 0
                var nextColumn = keep[0]
                boxFilterEightRows(source, columns: columns, window: windowAlongRows, trailing: trailing) { column, sum, held in
                    while column == nextColumn {
                        keptSums[next] = sum
                        keptHeld[next] = held
                        next += 1
                        nextColumn = next < kept ? keep[next] : -1
                    }
                }
                let sink = EightRowWriter(first: sampledColumns + group * kept, stride: kept, tile: tile)
                for index in 0..<kept {
                    sink.store(keptSums[index] / SIMD8(repeating: keptHeld[index]), at: index)
                }
            }
        }
        // Pass 4.
        boxFilterAlongColumns(sampledColumns, block, rows: rows, columns: downsampledSize, window: windowAlongColumns,
                              sums: columnSums, keepingRows: decimationIndices(rows))
    }

    /// The reference's 1-D box filter (`boxFilter1D`) along eight rows at once, one row per
    /// vector lane, so that eight independent running sums advance together instead of one
    /// long dependency chain. Each lane does exactly `boxFilter1D`'s float operations on its
    /// row. Columns leave the window `window` steps after they enter it, so they are read
    /// back from `trailing` (room for `window` vectors) rather than fetched twice.
    /// `emit(column, sum, held)` receives every column in order: the filtered value is
    /// `sum / held`, left to the caller so that columns it does not keep cost no division.
    @inline(__always)
    static func boxFilterEightRows<Source: EightRowSource>(
        _ source: Source, columns: Int, window: Int, trailing: UnsafeMutablePointer<SIMD8<Float>>,
        emit: (Int, SIMD8<Float>, Float) -> Void
    ) {
        let halfWindow = (window + 2) / 2
        var sum = SIMD8<Float>.zero
        var held: Float = 0
        var readIndex = 0
        var writeIndex = 0
        var ringSlot = 0  // where the column read now goes, and where the one leaving is
        @inline(__always) func enter() -> SIMD8<Float> {
            let values = source.column(readIndex)
            trailing[ringSlot] = values
            ringSlot = ringSlot + 1 == window ? 0 : ringSlot + 1
            readIndex += 1
            return values
        }
        for _ in 0..<(halfWindow - 1) {
            sum = sum + enter()
            held += 1
        }
        for _ in 0..<(window - halfWindow + 1) {
            sum = sum + enter()
            held += 1
            emit(writeIndex, sum, held)
            writeIndex += 1
        }
        // From here the ring is full: the slot about to be written holds the leaving column.
        for _ in 0..<max(0, columns - window) {
            let leaving = trailing[ringSlot]
            sum = sum + enter()
            sum = sum - leaving
            emit(writeIndex, sum, held)
            writeIndex += 1
        }
        for _ in 0..<(halfWindow - 1) {
            sum = sum - trailing[ringSlot]
            ringSlot = ringSlot + 1 == window ? 0 : ringSlot + 1
            held -= 1
            emit(writeIndex, sum, held)
            writeIndex += 1
        }
    }
}

/// Eight rows' values at one column, one row per lane.
protocol EightRowSource {
    func column(_ index: Int) -> SIMD8<Float>
}

/// Eight consecutive rows of a float image, written one column (one value per row) at a
/// time. Columns written in order are gathered in an 8×8 tile and stored as whole row
/// segments: storing lane by lane would make the compiler split the division that produced
/// them into eight scalar divisions.
struct EightRowWriter {
    let rows: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>,
               UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
    let tile: UnsafeMutablePointer<SIMD8<Float>>

    init(first: UnsafeMutablePointer<Float>, stride: Int, tile: UnsafeMutablePointer<SIMD8<Float>>) {
        rows = (first, first + stride, first + 2 * stride, first + 3 * stride,
                first + 4 * stride, first + 5 * stride, first + 6 * stride, first + 7 * stride)
        self.tile = tile
    }

    @inline(__always)
    func row(_ lane: Int) -> UnsafeMutablePointer<Float> {
        switch lane {
        case 0: rows.0
        case 1: rows.1
        case 2: rows.2
        case 3: rows.3
        case 4: rows.4
        case 5: rows.5
        case 6: rows.6
        default: rows.7
        }
    }

    /// Writes column `index`; columns must come in order from 0, and `last` marks the final one.
    @inline(__always)
    func write(_ values: SIMD8<Float>, at index: Int, last: Bool) {
        tile[index & 7] = values
        guard index & 7 == 7 || last else { return }
        let start = index & ~7
        let count = (index & 7) + 1
        if count == 8 {
            for lane in 0..<8 {
                let segment = SIMD8(tile[0][lane], tile[1][lane], tile[2][lane], tile[3][lane],
                                    tile[4][lane], tile[5][lane], tile[6][lane], tile[7][lane])
                UnsafeMutableRawPointer(row(lane) + start).storeBytes(of: segment, as: SIMD8<Float>.self)
            }
        } else {
            for lane in 0..<8 {
                for column in 0..<count {
                    row(lane)[start + column] = tile[column][lane]
                }
            }
        }
    }

    /// Writes one column on its own, in any order.
    @inline(__always)
    func store(_ values: SIMD8<Float>, at index: Int) {
        for lane in 0..<8 {
            row(lane)[index] = values[lane]
        }
    }
}

/// Rows of a float image. Lanes past the last row repeat it (their results land in padding).
struct FloatRowGroup: EightRowSource {
    let r0, r1, r2, r3, r4, r5, r6, r7: UnsafePointer<Float>

    init(first: UnsafePointer<Float>, firstRow: Int, rows: Int, columns: Int) {
        func row(_ lane: Int) -> UnsafePointer<Float> { first + min(firstRow + lane, rows - 1) * columns }
        (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3))
        (r4, r5, r6, r7) = (row(4), row(5), row(6), row(7))
    }

    @inline(__always)
    func column(_ index: Int) -> SIMD8<Float> {
        SIMD8(r0[index], r1[index], r2[index], r3[index], r4[index], r5[index], r6[index], r7[index])
    }
}

/// The eight rows of RGB bytes from `firstRow` on, the last row repeated past the bottom edge.
@inline(__always)
private func eightRows(_ rgb: UnsafePointer<UInt8>, firstRow: Int, rows: Int, rowStride: Int)
    -> (UnsafePointer<UInt8>, UnsafePointer<UInt8>, UnsafePointer<UInt8>, UnsafePointer<UInt8>,
        UnsafePointer<UInt8>, UnsafePointer<UInt8>, UnsafePointer<UInt8>, UnsafePointer<UInt8>) {
    func row(_ lane: Int) -> UnsafePointer<UInt8> { rgb + min(firstRow + lane, rows - 1) * rowStride }
    return (row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7))
}

/// Rows of an RGB image, turned into luma as they are read (`PDQ.luma`, exactly).
struct LumaRowGroup: EightRowSource {
    let r0, r1, r2, r3, r4, r5, r6, r7: UnsafePointer<UInt8>
    let redGreen: UnsafePointer<Double>
    let blue: UnsafePointer<Double>

    init(rgb: UnsafePointer<UInt8>, firstRow: Int, rows: Int, rowStride: Int, redGreen: UnsafePointer<Double>, blue: UnsafePointer<Double>) {
        (r0, r1, r2, r3, r4, r5, r6, r7) = eightRows(rgb, firstRow: firstRow, rows: rows, rowStride: rowStride)
        self.redGreen = redGreen
        self.blue = blue
    }

    @inline(__always)
    func column(_ index: Int) -> SIMD8<Float> {
        let offset = 3 * index
        @inline(__always) func luma(_ row: UnsafePointer<UInt8>) -> Float {
            PDQ.luma(row + offset, redGreen: redGreen, blue: blue)
        }
        return SIMD8(luma(r0), luma(r1), luma(r2), luma(r3), luma(r4), luma(r5), luma(r6), luma(r7))
    }
}

/// Rows of a video frame's RGB, turned into luma as they are read (`PDQ.frameLuma`, exactly).
struct FrameLumaRowGroup: EightRowSource {
    let r0, r1, r2, r3, r4, r5, r6, r7: UnsafePointer<UInt8>
    let redGreen: UnsafePointer<Float>
    let blue: UnsafePointer<Float>

    init(rgb: UnsafePointer<UInt8>, firstRow: Int, rows: Int, rowStride: Int, redGreen: UnsafePointer<Float>, blue: UnsafePointer<Float>) {
        (r0, r1, r2, r3, r4, r5, r6, r7) = eightRows(rgb, firstRow: firstRow, rows: rows, rowStride: rowStride)
        self.redGreen = redGreen
        self.blue = blue
    }

    @inline(__always)
    func column(_ index: Int) -> SIMD8<Float> {
        let offset = 3 * index
        @inline(__always) func luma(_ row: UnsafePointer<UInt8>) -> Float {
            let pixel = row + offset
            let redAndGreen = Int(UInt16(littleEndian: UnsafeRawPointer(pixel).loadUnaligned(as: UInt16.self)))
            return redGreen[redAndGreen] + blue[Int(pixel[2])]
        }
        return SIMD8(luma(r0), luma(r1), luma(r2), luma(r3), luma(r4), luma(r5), luma(r6), luma(r7))
    }
}
