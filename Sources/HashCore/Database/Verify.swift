extension HashDatabase {
    public static let checksumProblem = "checksum mismatch: the content is not what was written"

    /// True when the SHA-256 of the file (its checksum field zeroed) is the checksum in its
    /// header: the bytes are the ones the writer wrote. Reads the whole file once; cheaper than
    /// `verify`, which also walks every structure and reference.
    public func checksumMatches() -> Bool {
        let digest = SHA256Stream()
        let bytes = file.bytes
        digest.update(UnsafeRawBufferPointer(rebasing: bytes[0..<DatabaseFormat.checksumOffset]))
        let zeros = [UInt8](repeating: 0, count: DatabaseFormat.checksumSize)
        zeros.withUnsafeBytes { digest.update($0) }
        digest.update(UnsafeRawBufferPointer(rebasing: bytes[(DatabaseFormat.checksumOffset + DatabaseFormat.checksumSize)...]))
        return digest.finish() == checksum
    }

    /// Checks the whole file: its checksum and every structure and reference in it
    /// (docs/FORMAT.md, "Integrity"). Returns the problems found, at most `limit`; none means
    /// the file is sound.
    public func verify(limit: Int = 20) -> [String] {
        var problems: [String] = []
        func problem(_ text: String) -> Bool {
            problems.append(text)
            return problems.count >= limit
        }

        if !checksumMatches(), problem(Self.checksumProblem) { return problems }

        // Label strings: valid, sorted, unique.
        var previousLabel: UnsafeRawBufferPointer?
        for index in 0..<labels.count {
            guard let label = labels.bytes(index), String(validating: label, as: UTF8.self) != nil else {
                if problem("label \(index) is out of bounds or not UTF-8") { return problems }
                continue
            }
            if let previousLabel, !previousLabel.lexicographicallyPrecedes(label) {
                if problem("labels \(index - 1) and \(index) are not in order") { return problems }
            }
            previousLabel = label
        }

        // Entries, their ids (consecutive, in order) and label sets; the id index's content.
        var expectedIDIndex: [(UInt64, UInt32)] = []
        expectedIDIndex.reserveCapacity(idIndex.count)
        var nextID = 0
        for index in 0..<entries.count {
            guard let record = entries.record(index) else { break }
            if record.firstID != nextID || record.idCount == 0 {
                if problem("entry \(index): ids start at \(record.firstID) (expected \(nextID)), count \(record.idCount)") { return problems }
            }
            nextID = record.firstID + record.idCount
            var previousID: UnsafeRawBufferPointer?
            for offset in 0..<record.idCount {
                guard let id = ids.bytes(record.firstID + offset), String(validating: id, as: UTF8.self) != nil else {
                    if problem("entry \(index): id \(record.firstID + offset) is out of bounds or not UTF-8") { return problems }
                    continue
                }
                if let previousID, !previousID.lexicographicallyPrecedes(id) {
                    if problem("entry \(index): ids not sorted and unique") { return problems }
                }
                previousID = id
                expectedIDIndex.append((DatabaseFormat.idHash(id), UInt32(index)))
            }
            guard let set = labelSets.set(at: record.labelSet) else {
                if problem("entry \(index): label set at word \(record.labelSet) is out of bounds") { return problems }
                continue
            }
            for list in [set.categories, set.sources] {
                if list.contains(where: { $0 >= labels.count }) || zip(list, list.dropFirst()).contains(where: { $0 >= $1 }) {
                    if problem("entry \(index): label set at word \(record.labelSet) has labels out of range or order") { return problems }
                }
            }
        }
        if nextID != ids.count, problem("\(ids.count) ids stored, entries use \(nextID)") { return problems }

        // The id index holds exactly one record per id, sorted.
        expectedIDIndex.sort { $0 < $1 }
        if expectedIDIndex.count != idIndex.count {
            if problem("id index has \(idIndex.count) records, the entries have \(expectedIDIndex.count) ids") { return problems }
        } else {
            for position in 0..<idIndex.count where (idIndex.hash(position), UInt32(idIndex.entry(position))) != expectedIDIndex[position] {
                if problem("id index record \(position) does not match the entries") { return problems }
                break
            }
        }

        // Digest indexes: keys strictly ascending, entries in range, and each directory bucket
        // pointing at the first key of its prefix.
        for index in [sha256, sha1, md5] {
            for position in 1..<max(1, index.count) where !(index.key(position - 1) < index.key(position)) {
                if problem("\(index.kind.rawValue) index: keys \(position - 1) and \(position) are not in order") { return problems }
                break
            }
            for position in 0..<index.count where index.entry(position) >= entries.count {
                if problem("\(index.kind.rawValue) index: key \(position) refers to entry \(index.entry(position)), out of range") { return problems }
                break
            }
            func prefix(_ position: Int) -> Int {
                index.prefixBits == 0 ? 0 : Int(index.key(position).w0 >> UInt64(64 - index.prefixBits))
            }
            var position = 0
            for bucket in 0..<(1 << index.prefixBits) {
                if Int(index.directory.u32(bucket * 4)) != position {
                    if problem("\(index.kind.rawValue) index: directory bucket \(bucket) is \(index.directory.u32(bucket * 4)), expected \(position)") { return problems }
                    break
                }
                while position < index.count && prefix(position) <= bucket {
                    position += 1
                }
            }
        }

        // PDQ table: (hash, entry) strictly ascending, entries in range, qualities valid.
        for position in 0..<pdq.count {
            if position > 0 {
                let previous = (pdq.hash(position - 1).bits, pdq.entry(position - 1))
                let current = (pdq.hash(position).bits, pdq.entry(position))
                if !(previous.0 < current.0 || (previous.0 == current.0 && previous.1 < current.1)) {
                    if problem("PDQ table: rows \(position - 1) and \(position) are not in order") { return problems }
                }
            }
            if pdq.entry(position) >= entries.count {
                if problem("PDQ table: row \(position) refers to entry \(pdq.entry(position)), out of range") { return problems }
            }
            if let quality = pdq.quality(position), quality > 100 {
                if problem("PDQ table: row \(position) has quality \(quality)") { return problems }
            }
        }
        // Near index: directories never decreasing, and every distinct hash listed once in
        // each table, under its own substring.
        if let near {
            for (tableIndex, table) in near.tables.enumerated() {
                for value in 0..<(1 << table.bits) where table.directory.u32(value * 4) > table.directory.u32(value * 4 + 4) {
                    if problem("near index table \(tableIndex): directory decreases at \(value)") { return problems }
                    break
                }
            }
            var distinct = 0
            var position = 0
            while position < pdq.count {
                let hash = pdq.hash(position)
                distinct += 1
                let permuted = near.permutation.apply(hash)
                for (tableIndex, table) in near.tables.enumerated() {
                    let value = permuted.bits(from: table.start, count: table.bits)
                    var low = Int(table.directory.u32(value * 4))
                    var high = min(Int(table.directory.u32(value * 4 + 4)), near.hashCount)
                    var found = false
                    while low < high {
                        let middle = (low + high) / 2
                        let row = Int(table.rows.u32(middle * 4))
                        if row == position { found = true; break }
                        if row < position { low = middle + 1 } else { high = middle }
                    }
                    if !found, problem("near index table \(tableIndex): PDQ row \(position) is not under its substring") { return problems }
                }
                while position < pdq.count && pdq.hash(position) == hash { position += 1 }
            }
            if distinct != near.hashCount, problem("near index holds \(near.hashCount) hashes, the PDQ table \(distinct) distinct ones") {
                return problems
            }
        }

        // Removals and allowlist: every record readable, in order, without repeats; allowlist
        // radii within bounds.
        for (name, table) in [("tombstones", tombstoneTable), ("allowlist", allowTable)] {
            var previous: (AnnotatedValue, String, Int, String)?
            for index in 0..<table.count {
                let record: (value: AnnotatedValue, radius: Int, reason: String, source: String)
                do {
                    record = try table.decode(index)
                } catch {
                    if problem("\(name): \(error.detail)") { return problems }
                    continue
                }
                if name == "allowlist" {
                    if case .id = record.value, problem("allowlist: record \(index) names an id") { return problems }
                    if record.radius > PDQ.maximumAllowRadius, problem("allowlist: record \(index) has radius \(record.radius)") { return problems }
                } else if record.radius != 0, problem("tombstones: record \(index) has a radius") {
                    return problems
                }
                let current = (record.value, record.source, record.radius, record.reason)
                if let previous, !AnnotationRecord.precedes(previous, current) {
                    if problem("\(name): records \(index - 1) and \(index) are not in order") { return problems }
                }
                previous = current
            }
        }
        return problems
    }
}
