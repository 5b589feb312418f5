import DIPlanCore
import DIPlanTestSupport
import Testing

@Suite("EnumSet: a query's enum filters as bits, the same set as a Set")
struct EnumSetTests {
    /// Random inserts and removes, each checked against `Set` doing the same.
    @Test(arguments: [1, 2, 3, 4])
    func behavesAsASetDoes(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var bits = EnumSet<ServiceType>()
        var set = Set<ServiceType>()
        for _ in 0..<2_000 {
            let value = ServiceType.allCases.randomElement(using: &random)!
            if random.next() % 3 == 0 {
                #expect(bits.remove(value) == set.remove(value))
            } else {
                let (inserted, member) = bits.insert(value)
                let expected = set.insert(value)
                #expect(inserted == expected.inserted && member == expected.memberAfterInsert)
            }
            #expect(Set(bits) == set)
            #expect(bits.count == set.count && bits.isEmpty == set.isEmpty)
            for other in ServiceType.allCases { #expect(bits.contains(other) == set.contains(other)) }
        }
    }

    @Test func combinesAsSetsDo() {
        let a: EnumSet<Region> = [.latgale, .kurzeme, .riga]
        let b: EnumSet<Region> = [.riga, .zemgale]
        #expect(Set(a.union(b)) == Set([.latgale, .kurzeme, .riga, .zemgale]))
        #expect(Set(a.intersection(b)) == [.riga])
        #expect(Set(a.symmetricDifference(b)) == Set([.latgale, .kurzeme, .zemgale]))
        #expect(a.isSubset(of: a.union(b)) && !a.isSubset(of: b))
        #expect(EnumSet<Region>([.riga, .riga]).count == 1)
        #expect(EnumSet<Region>() == [] && EnumSet<Region>([.riga]) != [.latgale])
    }

    @Test func iteratesInDeclarationOrder() {
        let groups: EnumSet<TargetGroup> = [.childrenInCare, .grtAdults]
        #expect(Array(groups) == [.grtAdults, .childrenInCare])
        #expect(Array(EnumSet(ServiceType.allCases.reversed())) == ServiceType.allCases)
        #expect("\(groups)" == "[grtAdults, childrenInCare]")
    }
}
