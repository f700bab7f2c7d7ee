import Foundation
import Testing

@testable import HashCore

/// NCMEC's hash-sharing XML as a list (the shape of its `/v2/entries` answers, written here).
@Suite struct NCMECImportTests {
    static let xml = """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">
            <images count="3" maxTimestamp="2017-10-24T15:10:00Z">
                <image>
                    <member id="42">Example Member</member>
                    <timestamp>2017-10-24T15:00:00Z</timestamp>
                    <id>image1</id>
                    <classification>A1</classification>
                    <fingerprints>
                        <md5>a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1</md5>
                        <sha1>a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1</sha1>
                        <pdna>opaque</pdna>
                        <pdq>5544a23d0b2c8f9e5544a23d0b2c8f9e5544a23d0b2c8f9e5544a23d0b2c8f9e</pdq>
                    </fingerprints>
                    <feedback><affirmativeFeedback type="Md5"><members><member id="7">Other</member></members></affirmativeFeedback></feedback>
                </image>
                <image>
                    <member id="42">Example Member</member>
                    <id>image2</id>
                    <fingerprints><md5>not-hex</md5></fingerprints>
                </image>
                <deletedImage>
                    <member id="43">Example Member2</member>
                    <id>image4</id>
                    <timestamp>2017-10-24T15:10:00Z</timestamp>
                </deletedImage>
            </images>
            <videos count="2" maxTimestamp="2017-10-24T15:20:00Z">
                <video>
                    <member id="42">Example Member</member>
                    <timestamp>2017-10-24T15:00:00Z</timestamp>
                    <id>video1</id>
                    <fingerprints>
                        <md5>b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1</md5>
                        <tmk-pdqf rel="self" href="/v2/entries/video1/fingerprints/TMK_PDQF"/>
                    </fingerprints>
                </video>
                <deletedVideo><member id="42">Example Member</member><id>video4</id></deletedVideo>
            </videos>
            <paging><next>/v2/entries?start=2001&amp;size=1000&amp;max=3000</next></paging>
        </queryResult>
        """

    @Test func entriesBecomeRowsAndTombstonesRemovals() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("ncmec.xml")
        try Self.xml.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try ListReader.detectFormat(path: path) == .ncmec)
        var rows: [ListRow] = []
        var errors: [RowError] = []
        try ListReader.read(path: path) { result in
            switch result {
            case .success(let row): rows.append(row)
            case .failure(let error): errors.append(error)
            }
        }
        #expect(rows.map(\.id) == ["image1", "image4", "video1", "video4"])
        let image = rows[0]
        #expect(image.md5?.bytes(count: 16).first == 0xa1 && image.sha1 != nil && image.pdq != nil)
        #expect(image.categories == ["A1"] && image.added == ISOTime.parse("2017-10-24T15:00:00Z"))
        #expect(rows[1].record == .removed && rows[3].record == .removed && rows[2].record == .entry && rows[2].md5 != nil)
        #expect(errors.count == 1 && errors[0].line == 17 && errors[0].reason.contains("md5"), "\(errors)")

        // Built with a list that still has image4: the tombstone removes it, and stays.
        let older = directory.file("older.csv")
        try "id,md5\nimage4,c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1\n".write(toFile: older, atomically: true, encoding: .utf8)
        let output = directory.file("ncmec.hdb")
        _ = try DatabaseIngest.build(IngestInputs(items: [older, path]), to: output, policy: IngestPolicy())
        let database = try HashDatabase.open(path: output)
        #expect(try database.entries(withID: "image4").isEmpty && !database.entries(withID: "image1").isEmpty)
        #expect(try database.tombstones().contains { $0.value == .id("image4") })
    }

    @Test func otherFormatsAreNotTakenForNCMECXML() throws {
        let directory = TemporaryDirectory()
        for (name, text) in [("a.csv", "id,md5\nx,a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1\n"), ("b.jsonl", "{\"md5\":\"a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1\"}\n"),
                             ("c.xml", "<?xml version=\"1.0\"?><other><image/></other>\n")] {
            try text.write(toFile: directory.file(name), atomically: true, encoding: .utf8)
            #expect(try ListReader.detectFormat(path: directory.file(name)) != .ncmec, "\(name)")
        }
        // Broken XML names the line.
        let broken = directory.file("broken.xml")
        try "<queryResult><images><image><id>x</id>\n<fingerprints><md5>a1</md5></queryResult>".write(toFile: broken, atomically: true, encoding: .utf8)
        #expect(throws: InputError.self) { try ListReader.read(path: broken) { _ in } }
    }
}

/// The XML reader behind the XML list formats: strict, bounded, no entities of the file's own.
@Suite struct XMLEventsTests {
    static func events(_ text: String) throws -> [String] {
        var bytes = Array(text.utf8)
        return try bytes.withUnsafeMutableBytes { buffer in
            var reader = XMLEvents(UnsafeRawBufferPointer(buffer))
            var found: [String] = []
            while let event = try reader.next() {
                switch event {
                case .start(let name, let attributes, let line):
                    found.append("<\(name)\(attributes.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined())@\(line)")
                case .text(let text): if !text.allSatisfy(\.isWhitespace) { found.append(text) }
                case .end(let name): found.append("</\(name)")
                }
            }
            return found
        }
    }

    @Test func readsWhatListsUse() throws {
        let text = "<?xml version=\"1.0\"?>\n<!-- a list -->\n<ns:a x='1' y=\"&amp;2\">\n<b/>t&lt;&#65;&#x42;<![CDATA[<raw>]]></ns:a>\n"
        #expect(try Self.events(text) == ["<a x=1 y=&2@3", "<b@4", "</b", "t<AB", "<raw>", "</a"])
    }

    @Test(arguments: [
        "<!DOCTYPE a [<!ENTITY e \"boom\">]><a>&e;</a>", "<a><b></a>", "<a>", "<a>&unknown;</a>", "<a x=1></a>",
        "text<a></a>", "<a></a><", String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100),
    ])
    func refusesWhatIsNot(_ text: String) {
        #expect(throws: XMLEvents.Malformed.self) { try Self.events(text) }
    }
}
