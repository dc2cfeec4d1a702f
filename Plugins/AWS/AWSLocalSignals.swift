import CMKCore

/// AWS's local signals, decided without the network.
///
/// Nitro instances write `Amazon EC2` into several DMI fields; Xen-era instances have a
/// hypervisor UUID starting with `ec2`; Lambda and ECS set their own variables. `AWS_REGION`
/// alone is weak (laptops set it), and no `AWS_` prefix proves anything (`AWS_CA_BUNDLE`).
enum AWSLocalSignals {
    static let nitroFields = ["sys_vendor", "bios_vendor", "board_vendor", "chassis_asset_tag"]

    static func evaluate(_ snapshot: PlatformSnapshot) -> Detection {
        var evidence: [String] = []
        var rejected: [String] = []
        var details: [String: String] = [:]
        var platform: String?

        for field in nitroFields where snapshot.dmi(field) == "Amazon EC2" {
            evidence.append("\(PlatformSnapshot.dmiDirectory)/\(field) = \"Amazon EC2\"")
            platform = "Amazon EC2 (Nitro)"
        }
        if platform != nil, let instance = snapshot.dmi("board_asset_tag"), instance.hasPrefix("i-") {
            details["instance"] = instance
            evidence.append("\(PlatformSnapshot.dmiDirectory)/board_asset_tag = \"\(instance)\" (instance id)")
        }
        if let uuid = snapshot.file(PlatformSnapshot.hypervisorUUIDPath) {
            if uuid.lowercased().hasPrefix("ec2") {
                evidence.append("\(PlatformSnapshot.hypervisorUUIDPath) starts with \"ec2\" (Xen)")
                platform = platform ?? "Amazon EC2 (Xen)"
            } else {
                rejected.append("\(PlatformSnapshot.hypervisorUUIDPath) does not start with \"ec2\"")
            }
        }
        if let cloudID = snapshot.cloudID {
            if cloudID == "aws" || cloudID.hasPrefix("aws-") {
                evidence.append("\(PlatformSnapshot.cloudIDPath) = \"\(cloudID)\" (cloud-init)")
                platform = platform ?? "Amazon Web Services"
            } else {
                rejected.append("cloud-init says \"\(cloudID)\"")
            }
        }
        if let function = snapshot.env("AWS_LAMBDA_FUNCTION_NAME") {
            evidence.append("AWS_LAMBDA_FUNCTION_NAME = \"\(function)\" (Lambda)")
            platform = platform ?? "AWS Lambda"
        }
        if let environment = snapshot.env("AWS_EXECUTION_ENV") {
            if environment.hasPrefix("AWS_Lambda_") || environment.hasPrefix("AWS_ECS_") {
                evidence.append("AWS_EXECUTION_ENV = \"\(environment)\"")
                platform = platform ?? (environment.hasPrefix("AWS_ECS_") ? "Amazon ECS" : "AWS Lambda")
            } else {
                rejected.append("AWS_EXECUTION_ENV = \"\(environment)\" is not a Lambda or ECS value")
            }
        }
        if snapshot.env("ECS_CONTAINER_METADATA_URI_V4") != nil {
            evidence.append("ECS_CONTAINER_METADATA_URI_V4 is set (ECS task)")
            platform = platform ?? "Amazon ECS"
        }
        if let region = snapshot.env("AWS_REGION") ?? snapshot.env("AWS_DEFAULT_REGION") {
            details["region"] = region
        }
        if let sysVendor = snapshot.dmi("sys_vendor"), platform == nil, sysVendor != "Amazon EC2" {
            rejected.append("\(PlatformSnapshot.dmiDirectory)/sys_vendor is \"\(sysVendor)\", not \"Amazon EC2\"")
        }
        if platform != nil {
            return Detection(
                strength: .strong,
                platform: platform,
                evidence: evidence,
                rejected: rejected,
                details: details
            )
        }
        if let region = details["region"] {
            // A region variable alone says the user works with AWS, not that this machine is on it.
            return Detection(
                strength: .weak,
                platform: "AWS (region variable only)",
                evidence: ["AWS_REGION or AWS_DEFAULT_REGION = \"\(region)\" (weak: set on laptops too)"],
                rejected: rejected,
                details: details
            )
        }
        if rejected.isEmpty {
            rejected.append("no AWS signal: no Amazon EC2 DMI field, no ec2 hypervisor UUID, no Lambda or ECS variable")
        }
        return Detection(strength: .none, rejected: rejected, details: details)
    }
}
