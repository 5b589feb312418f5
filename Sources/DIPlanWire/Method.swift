/// Every method of the contract, by its wire path.
package enum Method {
    package enum Plans {
        package static let listRegions = "/diplan.v1.Plans/ListRegions"
        package static let listMunicipalities = "/diplan.v1.Plans/ListMunicipalities"
        package static let listPlans = "/diplan.v1.Plans/ListPlans"
        package static let getPlan = "/diplan.v1.Plans/GetPlan"
        package static let queryCapacity = "/diplan.v1.Plans/QueryCapacity"
        package static let listFacilities = "/diplan.v1.Plans/ListFacilities"
        package static let listProjects = "/diplan.v1.Plans/ListProjects"
        package static let getProject = "/diplan.v1.Plans/GetProject"
        package static let listPlanEvents = "/diplan.v1.Plans/ListPlanEvents"
        package static let upsertMunicipality = "/diplan.v1.Plans/UpsertMunicipality"
        package static let upsertPlan = "/diplan.v1.Plans/UpsertPlan"
        package static let setPlanTarget = "/diplan.v1.Plans/SetPlanTarget"
        package static let upsertCapacityLine = "/diplan.v1.Plans/UpsertCapacityLine"
        package static let deleteCapacityLine = "/diplan.v1.Plans/DeleteCapacityLine"
        package static let upsertFacility = "/diplan.v1.Plans/UpsertFacility"
        package static let upsertProject = "/diplan.v1.Plans/UpsertProject"
        package static let advancePlan = "/diplan.v1.Plans/AdvancePlan"
        package static let setPlanFact = "/diplan.v1.Plans/SetPlanFact"
        package static let deletePlanFact = "/diplan.v1.Plans/DeletePlanFact"
        package static let listProgrammes = "/diplan.v1.Plans/ListProgrammes"
        package static let getProgramme = "/diplan.v1.Plans/GetProgramme"
        package static let upsertProgramme = "/diplan.v1.Plans/UpsertProgramme"
        package static let apply = "/diplan.v1.Plans/Apply"
        package static let `import` = "/diplan.v1.Plans/Import"
        package static let export = "/diplan.v1.Plans/Export"
    }

    package enum Holds {
        package static let hold = "/diplan.v1.Holds/Hold"
        package static let confirm = "/diplan.v1.Holds/Confirm"
        package static let release = "/diplan.v1.Holds/Release"
        package static let listHolds = "/diplan.v1.Holds/ListHolds"
        package static let findFreePlaces = "/diplan.v1.Holds/FindFreePlaces"
    }

    package enum Watch {
        package static let watch = "/diplan.v1.Watch/Watch"
    }

    package enum Health {
        package static let check = "/grpc.health.v1.Health/Check"
        package static let watch = "/grpc.health.v1.Health/Watch"
    }

    package enum Admin {
        package static let describe = "/diplan.v1.Admin/Describe"
        package static let stats = "/diplan.v1.Admin/Stats"
        package static let snapshot = "/diplan.v1.Admin/Snapshot"
        package static let compact = "/diplan.v1.Admin/Compact"
        package static let backup = "/diplan.v1.Admin/Backup"
    }
}
