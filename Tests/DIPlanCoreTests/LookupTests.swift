import DIPlanCore
import Testing

@Suite("Ids spelled another way")
struct LookupTests {
    @Test func foldingSpellsAsAnIdDoes() {
        #expect(Slug.folded("Ludza") == "ludza")
        #expect(Slug.folded("LŪDZA") == "ludza")
        #expect(Slug.folded("Līvānu novads") == "livanu-novads")
        #expect(Slug.folded("Rēzeknes_novads") == "rezeknes-novads")
    }

    /// NOT_FOUND names the id meant when the one asked for differs only in case, marks or spaces.
    @Test func notFoundNamesTheIdMeant() throws {
        let state = try Fixture.state()
        #expect(state.unknownMunicipality("Ludza").description == "municipality \"Ludza\" does not exist; did you mean ludza?")
        #expect(state.unknownMunicipality("nowhere").description == "municipality \"nowhere\" does not exist")
        #expect(throws: DomainError.notFound(kind: "municipality", id: "LUDZA", didYouMean: "ludza")) {
            try state.requireKnown(municipalities: ["ludza", "LUDZA"])
        }
        #expect(throws: DomainError.notFound(kind: "plan", id: "latgale-2030")) {
            try state.requireKnown(municipalities: ["ludza"], plans: ["latgale-2030"])
        }
    }
}
