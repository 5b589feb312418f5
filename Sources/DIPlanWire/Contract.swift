import DIPlanCore
import SwiftProtobuf

/// What ships inside the binaries: the contract's descriptors and the
/// embedded default dataset.
package enum Contract {
    /// The google.protobuf.FileDescriptorSet of every file in proto/, with imports.
    package static var fileDescriptorSet: [UInt8] { PackageResources.diplan_protoset }

    /// The embedded dataset as its JSON text (protobuf's JSON mapping of `diplan.v1.Dataset`).
    package static var datasetJSON: [UInt8] { PackageResources.dataset_json }

    /// The embedded default dataset: the five regions' Latgale and Kurzeme
    /// municipalities and plans, built from sourced facts only.
    package static func embeddedDataset() throws -> Dataset {
        let message = try Diplan_V1_Dataset(jsonUTF8Bytes: datasetJSON)
        return try Dataset(proto: message)
    }
}
