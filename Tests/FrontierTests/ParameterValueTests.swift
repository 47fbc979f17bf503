import Foundation
import Testing
@testable import FrontierAnalysis
@testable import FrontierSupport

/// Grid parameters typed as the grid wrote them: numbers as numbers in JSON, not strings.
@Suite struct ParameterValueTests {
    @Test func theCanonicalGridTextIsTypedBack() {
        #expect(ParameterValue(inferring: "0.9") == .number(0.9))
        #expect(ParameterValue(inferring: "4") == .integer(4))
        #expect(ParameterValue(inferring: "-3") == .integer(-3))
        #expect(ParameterValue(inferring: "1e-05") == .number(1e-5))
        #expect(ParameterValue(inferring: "true") == .bool(true))
        #expect(ParameterValue(inferring: "false") == .bool(false))
        #expect(ParameterValue(inferring: "global") == .string("global"))
        // Not numbers as YAML writes them back: identifiers, specials, half literals.
        for text in ["007", "+1", "1.", ".5", "nan", "inf", "0x10", "", "True", "1_000", "12abc"] {
            #expect(ParameterValue(inferring: text) == .string(text), "\(text)")
        }
        #expect(ParameterValue.typed(["sparsity": "0.9", "kernel": "never"]) == ["sparsity": 0.9, "kernel": "never"])
    }

    @Test func jsonHasTheScalarsAndReadsThemBack() throws {
        let values: [String: ParameterValue] = ["a": 0.9, "b": 4, "c": true, "d": "x", "e": "nan", "f": 5.0]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(values)
        #expect(String(decoding: data, as: UTF8.self) == #"{"a":0.9,"b":4,"c":true,"d":"x","e":"nan","f":5}"#)
        // Frontier's decoder reads the string "nan" as NaN where a number is expected; a
        // parameter that is the string stays one.
        // 5.0 is written `5` and reads back as the integer 5, which equals it.
        #expect(try JSONCoding.decoder.decode([String: ParameterValue].self, from: data) == values)
        #expect(ParameterValue.integer(5) == .number(5) && ParameterValue.string("5") != .integer(5))
    }

    @Test func valuesOrderNumericallyAndPrintAsWritten() {
        #expect(ParameterValue.precedes(4, 12))
        #expect(!ParameterValue.precedes(12, 4))
        #expect(ParameterValue.precedes(0.5, 0.7))
        #expect(ParameterValue.precedes(0.9, "global"))
        #expect(ParameterValue.number(0.9).description == "0.9")
        #expect(ParameterValue.integer(4).description == "4")
        #expect(ParameterValue.bool(true).description == "true")
    }
}
