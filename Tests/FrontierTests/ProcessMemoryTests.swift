import Testing
@testable import FrontierMeasurement


@Suite struct ProcessMemoryTests {
    @Test func parsesStatusLines() {
        let status = "Name:\tfrontier\nVmPeak:\t  300000 kB\nVmHWM:\t  123456 kB\nVmRSS:\t   98765 kB\n"
        #expect(ProcessMemory.parse("VmHWM", status: status) == 123_456)
        #expect(ProcessMemory.parse("VmRSS", status: status) == 98_765)
        #expect(ProcessMemory.parse("VmSwap", status: status) == nil)
    }

    /// procfs reports size 0 for its files; a reader that trusts the size sees nothing.
    @Test func readsThisProcess() throws {
        let rss = try #require(ProcessMemory.residentKB())
        let peak = try #require(ProcessMemory.peakResidentKB())
        #expect(rss > 1000 && peak >= rss)
    }
}
