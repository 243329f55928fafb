import Testing
@testable import CapstanTables

@Suite("HumanDuration")
struct HumanDurationTests {
    static let cases: [(Duration, String)] = [
        (.zero, "0s"),
        (.milliseconds(-500), "0s"),
        (.milliseconds(-1500), "0s"),
        (.seconds(-2), "<invalid>"),
        (.milliseconds(999), "0s"),
        (.seconds(5), "5s"),
        (.seconds(59), "59s"),
        (.seconds(119), "119s"),
        (.seconds(120), "2m"),
        (.seconds(200), "3m20s"),
        (.seconds(599), "9m59s"),
        (.seconds(600), "10m"),
        (.seconds(119 * 60), "119m"),
        (.seconds(179 * 60 + 59), "179m"),
        (.seconds(180 * 60), "3h"),
        (.seconds(185 * 60), "3h5m"),
        (.seconds(7 * 3600 + 59 * 60), "7h59m"),
        (.seconds(8 * 3600 + 30 * 60), "8h"),
        (.seconds(47 * 3600), "47h"),
        (.seconds(48 * 3600), "2d"),
        (.seconds(76 * 3600), "3d4h"),
        (.seconds(191 * 3600), "7d23h"),
        (.seconds(8 * 86400 + 3600), "8d"),
        (.seconds(45 * 86400), "45d"),
        (.seconds(729 * 86400), "729d"),
        (.seconds(730 * 86400), "2y"),
        (.seconds(760 * 86400), "2y30d"),
        (.seconds(8 * 365 * 86400), "8y"),
        (.seconds(10 * 365 * 86400 + 100 * 86400), "10y"),
    ]

    @Test(arguments: cases)
    func formats(_ duration: Duration, _ expected: String) {
        #expect(HumanDuration.format(duration) == expected)
    }

    @Test func nanosecondsOfHugeDurationsSaturate() {
        #expect(HumanDuration.format(.seconds(Int64.max / 2)) == "292y")
        #expect(HumanDuration.format(.seconds(-Int64.max / 2)) == "<invalid>")
    }
}
