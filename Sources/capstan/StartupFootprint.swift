import CCapstanHost
import Foundation
import Logging

/// The code and constants a process ran only while starting (parsing its configuration, TLS
/// set-up, registration, first lists) stay mapped, and so resident, until it exits: the kernel
/// maps 64 KB around every page of code that faults. Once a long-running command is serving,
/// it drops its read-only file mappings' pages from its page tables; what runs again faults
/// back in from the page cache (the pages stay cached, shared and clean).
enum StartupFootprint {
    static func release(logger: Logger) {
        let released = capstan_release_file_mappings()
        if released < 0 {
            logger.debug("start-up code stays mapped", metadata: ["errno": "\(-released)"])
        } else {
            logger.debug("released start-up code", metadata: ["MB": "\(String(format: "%.1f", Double(released) / 1_048_576))"])
        }
    }
}
