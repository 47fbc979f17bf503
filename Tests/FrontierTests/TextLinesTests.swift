import Testing
@testable import FrontierTasks


@Suite struct TextLinesTests {
    @Test func splitsOnNewlineDroppingCarriageReturnsAndTheFinalNewline() throws {
        #expect(try TextLines.split(Array("a\r\nb\n\nc\n".utf8)) == ["a", "b", "", "c"])
        #expect(try TextLines.split(Array("no newline".utf8)) == ["no newline"])
        #expect(try TextLines.split([]) == [])
    }

    @Test func invalidUTF8NamesTheLine() {
        #expect(throws: TextLines.InvalidUTF8(line: 3)) {
            try TextLines.split(Array("ok\nfine\n".utf8) + [0xC3, 0x28] + Array("\nlast".utf8))
        }
    }
}
