/// The fast path from RGB pixels to PDQ's 64×64 image: luma, the Jarosz filter and
/// decimation in four passes that produce only what the 64×64 result depends on, with the
/// same float results as `PDQ.luma`, `PDQ.jaroszFilter` and `PDQ.decimate` in turn (the tests
/// hold it to that).
///
/// 1. Rows, from RGB: luma computed on the fly, eight rows at a time (one per vector lane).
/// 2. Columns, in full (all columns at once, row by row).
/// 3. Rows again, written only at the 64 sampled columns.
/// 4. Columns again, over those 64 columns, written only at the 64 sampled rows.
extension PDQ {
    /// Working memory for `downsample`, sized for the largest image seen so far.
    struct DownsampleBuffers: ~Copyable {
        var first = ScratchBuffer<Float>()
        var second = ScratchBuffer<Float>()
        var line = ScratchBuffer<Float>()
        var trailing = ScratchBuffer<SIMD8<Float>>()
        var tile = ScratchBuffer<SIMD8<Float>>()
        var keptSums = ScratchBuffer<SIMD8<Float>>()
        var keptHeld = ScratchBuffer<Float>()

        mutating func releaseIfLarge() {
            first.releaseIfLarge()
            second.releaseIfLarge()
        }
    }

    static func downsample(
        rgb: UnsafePointer<UInt8>, rows: Int, columns: Int,
        buffers: inout DownsampleBuffers, into block: UnsafeMutablePointer<Float>
    ) {
        let windowAlongRows = jaroszWindowSize(columns)
        let windowAlongColumns = jaroszWindowSize(rows)
        let keptColumns = decimationIndices(columns)
        // Rows padded to a multiple of 8, so that every group of eight rows stores all eight
        // lanes (the padding rows are written but never read).
        let paddedRows = (rows + 7) / 8 * 8
        let first = buffers.first.reserve(paddedRows * max(columns, downsampledSize))
        let second = buffers.second.reserve(rows * columns)
        let line = buffers.line.reserve(max(columns, downsampledSize))
        let trailing = buffers.trailing.reserve(windowAlongRows)
        let tile = buffers.tile.reserve(8)

        lumaProducts.withUnsafeBufferPointer { products in
            for row in stride(from: 0, to: rows, by: 8) {
                let source = LumaRowGroup(rgb: rgb, firstRow: row, rows: rows, columns: columns, products: products.baseAddress!)
                let sink = EightRowWriter(first: first + row * columns, stride: columns, tile: tile)
                boxFilterEightRows(source, columns: columns, window: windowAlongRows, trailing: trailing) { column, sum, held in
                    sink.write(sum / SIMD8(repeating: held), at: column, last: column == columns - 1)
                }
            }
        }
        boxFilterAlongColumns(first, second, rows: rows, columns: columns, window: windowAlongColumns, sums: line)
        // Second row pass: the running sums still walk every column, but only the 64 sampled
        // columns are kept, as sums and divided afterwards, so that the hot loop does no division.
        let keptSums = buffers.keptSums.reserve(keptColumns.count)
        let keptHeld = buffers.keptHeld.reserve(keptColumns.count)
        keptColumns.withUnsafeBufferPointer { keep in
            let kept = keep.count
            for row in stride(from: 0, to: rows, by: 8) {
                let source = FloatRowGroup(first: second, firstRow: row, rows: rows, columns: columns)
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
                let sink = EightRowWriter(first: first + row * kept, stride: kept, tile: tile)
                for index in 0..<kept {
                    sink.store(keptSums[index] / SIMD8(repeating: keptHeld[index]), at: index)
                }
            }
        }
        boxFilterAlongColumns(first, block, rows: rows, columns: downsampledSize, window: windowAlongColumns,
                              sums: line, keepingRows: decimationIndices(rows))
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

/// Rows of an RGB image, turned into luma as they are read (`PDQ.luma`, exactly).
struct LumaRowGroup: EightRowSource {
    let r0, r1, r2, r3, r4, r5, r6, r7: UnsafePointer<UInt8>
    let products: UnsafePointer<Double>

    init(rgb: UnsafePointer<UInt8>, firstRow: Int, rows: Int, columns: Int, products: UnsafePointer<Double>) {
        func row(_ lane: Int) -> UnsafePointer<UInt8> { rgb + min(firstRow + lane, rows - 1) * columns * 3 }
        (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3))
        (r4, r5, r6, r7) = (row(4), row(5), row(6), row(7))
        self.products = products
    }

    @inline(__always)
    func column(_ index: Int) -> SIMD8<Float> {
        let offset = 3 * index
        return SIMD8(
            PDQ.luma(r0 + offset, products: products), PDQ.luma(r1 + offset, products: products),
            PDQ.luma(r2 + offset, products: products), PDQ.luma(r3 + offset, products: products),
            PDQ.luma(r4 + offset, products: products), PDQ.luma(r5 + offset, products: products),
            PDQ.luma(r6 + offset, products: products), PDQ.luma(r7 + offset, products: products))
    }
}
