import DIPlanCore
import DIPlanTestSupport
import Testing

@Suite("LineKey: its hash is made once, and stays right when a field changes")
struct LineKeyTests {
    /// Keys made, and keys changed field by field, are looked up in a set and
    /// a dictionary as their four fields (joined into one string) are: a hash
    /// left stale by a change would lose the key, or find another.
    @Test(arguments: [1, 2, 3])
    func findsWhatItsFieldsFind(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let plans = ["latgale-2017-2020", "kurzeme-2017-2020", "riga-2017-2020"]
        let municipalities = ["ludza", "balvi", "kraslava", "skrunda", "ludz", "ludzaa"]
        func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }
        func fields(_ key: LineKey) -> String {
            "\(key.planID)|\(key.municipalityID)|\(key.serviceType)|\(key.targetGroup)"
        }

        var keys = Set<LineKey>()
        var reference = Set<String>()
        var counts: [LineKey: Int] = [:]
        var referenceCounts: [String: Int] = [:]
        for _ in 0..<3_000 {
            var key = LineKey(
                planID: pick(plans), municipalityID: pick(municipalities), serviceType: pick(ServiceType.allCases),
                targetGroup: pick(TargetGroup.allCases))
            // Changed after it was made, one field or several.
            for _ in 0..<Int(random.next() % 3) {
                switch random.next() % 4 {
                case 0: key.planID = pick(plans)
                case 1: key.municipalityID = pick(municipalities)
                case 2: key.serviceType = pick(ServiceType.allCases)
                default: key.targetGroup = pick(TargetGroup.allCases)
                }
            }
            let fresh = LineKey(
                planID: key.planID, municipalityID: key.municipalityID, serviceType: key.serviceType,
                targetGroup: key.targetGroup)
            #expect(key == fresh)
            #expect(key.hashValue == fresh.hashValue)
            #expect(keys.contains(key) == reference.contains(fields(key)))
            #expect(keys.insert(key).inserted == reference.insert(fields(key)).inserted)
            counts[key, default: 0] += 1
            referenceCounts[fields(key), default: 0] += 1
        }
        #expect(keys.count == reference.count)
        #expect(Set(keys.map(fields)) == reference)
        for (key, count) in counts { #expect(referenceCounts[fields(key)] == count) }
    }

    @Test func keysThatDifferInOneFieldDiffer() {
        let key = LineKey(
            planID: "latgale-2017-2020", municipalityID: "ludza", serviceType: .dayCareCentre, targetGroup: .ftChildren)
        var other = key
        other.municipalityID = "balvi"
        #expect(other != key)
        other.municipalityID = "ludza"
        #expect(other == key)
        other.targetGroup = .grtAdults
        #expect(other != key)
        #expect(!Set([key]).contains(other))
    }
}
