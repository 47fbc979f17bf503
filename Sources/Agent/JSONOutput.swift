import Foundation
import FrontierSupport

/// One JSON object on stdout, in Frontier's one JSON dialect (`JSONCoding`).
enum JSONOutput {
    static func write<T: Encodable>(_ value: T) throws {
        FileHandle.standardOutput.write(try JSONCoding.encoder.encode(value) + Data("\n".utf8))
    }
}
