import CapstanAPI
import CapstanAPIMachinery
import Foundation
import Testing

@Suite("Status errors")
struct APIErrorTests {
    static let pods = GroupResource(resource: "pods")
    static let deployments = GroupResource(group: "apps", resource: "deployments")

    @Test func notFoundStatus() {
        let e = APIError.notFound(Self.pods, name: "x")
        #expect(e.code == 404)
        #expect(e.reason == .notFound)
        #expect(e.message == #"pods "x" not found"#)
        #expect(e.statusJSON() == json(#"""
        {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \"x\" not found",
         "reason":"NotFound","details":{"name":"x","kind":"pods"},"code":404}
        """#))
        let d = APIError.notFound(Self.deployments, name: "web")
        #expect(d.message == #"deployments.apps "web" not found"#)
        #expect(d.statusJSON()["details"] == json(#"{"name":"web","group":"apps","kind":"deployments"}"#))
    }

    static let messages: [(APIError, Int, String, String)] = [
        (.badRequest("the namespace of the provided object does not match the namespace sent on the request"), 400, "BadRequest",
         "the namespace of the provided object does not match the namespace sent on the request"),
        (.unauthorized(), 401, "Unauthorized", "Unauthorized"),
        (.unauthorized(""), 401, "Unauthorized", "not authorized"),
        (.forbidden(pods, name: "x", reason: "nope"), 403, "Forbidden", #"pods "x" is forbidden: nope"#),
        (.forbidden(pods, reason: "nope"), 403, "Forbidden", "pods is forbidden: nope"),
        (.forbidden(GroupResource(resource: ""), reason: "nope"), 403, "Forbidden", "forbidden: nope"),
        (.accessDenied(user: "bob", verb: "list", resource: "pods", namespace: "default"), 403, "Forbidden",
         #"pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "default""#),
        (.accessDenied(user: "bob", verb: "get", group: "apps", resource: "deployments", subresource: "scale", namespace: "d", name: "web"), 403, "Forbidden",
         #"deployments.apps "web" is forbidden: User "bob" cannot get resource "deployments/scale" in API group "apps" in the namespace "d""#),
        (.accessDenied(user: "bob", verb: "list", resource: "nodes"), 403, "Forbidden",
         #"nodes is forbidden: User "bob" cannot list resource "nodes" in API group "" at the cluster scope"#),
        (.accessDenied(user: "system:anonymous", verb: "get", path: "/metrics"), 403, "Forbidden",
         #"forbidden: User "system:anonymous" cannot get path "/metrics""#),
        (.notFound(pods, name: "x"), 404, "NotFound", #"pods "x" not found"#),
        (.notFoundPath(), 404, "NotFound", "the server could not find the requested resource"),
        (.methodNotSupported(GroupResource(resource: "bindings"), action: "list"), 405, "MethodNotAllowed",
         #"list is not supported on resources of kind "bindings""#),
        (.notAcceptable(accepted: ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]), 406, "NotAcceptable",
         "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf"),
        (.alreadyExists(pods, name: "x"), 409, "AlreadyExists", #"pods "x" already exists"#),
        (.generateNameConflict(pods, name: "web-abcde"), 409, "AlreadyExists",
         #"pods "web-abcde" already exists, the server was not able to generate a unique name for the object"#),
        (.objectModified(pods, name: "x"), 409, "Conflict",
         #"Operation cannot be fulfilled on pods "x": the object has been modified; please apply your changes to the latest version and try again"#),
        (.conflict(Self.deployments, name: "web", message: "Precondition failed: UID in precondition: a, UID in object meta: b"), 409, "Conflict",
         #"Operation cannot be fulfilled on deployments.apps "web": Precondition failed: UID in precondition: a, UID in object meta: b"#),
        (.tooOldResourceVersion(requested: 5, oldest: 10), 410, "Expired", "too old resource version: 5 (10)"),
        (.gone("gone"), 410, "Gone", "gone"),
        (.requestEntityTooLarge("limit is 3145728"), 413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728"),
        (.unsupportedMediaType(accepted: ["application/json", "application/yaml"]), 415, "UnsupportedMediaType",
         "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml"),
        (.tooManyRequests(retryAfterSeconds: 1), 429, "TooManyRequests", "Too many requests, please try again later."),
        (.internalError("boom"), 500, "InternalError", "Internal error occurred: boom"),
        (.serverTimeout(pods, operation: "list", retryAfterSeconds: 2), 500, "ServerTimeout",
         "The list operation against pods could not be completed at this time, please try again."),
        (.serviceUnavailable("etcd is down"), 503, "ServiceUnavailable", "etcd is down"),
        (.timeout("request did not complete within requested timeout - context deadline exceeded"), 504, "Timeout",
         "Timeout: request did not complete within requested timeout - context deadline exceeded"),
    ]

    @Test(arguments: messages)
    func codesReasonsAndMessages(error: APIError, code: Int, reason: String, message: String) {
        #expect(error.code == code)
        #expect(error.reason.rawValue == reason)
        #expect(error.message == message)
        #expect(error.description == message)
        let status = error.statusJSON()
        #expect(status["kind"] == .string("Status"))
        #expect(status["apiVersion"] == .string("v1"))
        #expect(status["metadata"] == .object([:]))
        #expect(status["status"] == .string("Failure"))
        #expect(status["code"] == .int(Int64(code)))
        #expect(status["reason"] == .string(reason))
        #expect(status["message"] == .string(message))
    }

    @Test func detailsOnlyWhenKubernetesSetsThem() {
        #expect(APIError.badRequest("x").statusJSON()["details"] == nil)
        #expect(APIError.unauthorized().statusJSON()["details"] == nil)
        #expect(APIError.notFoundPath().statusJSON()["details"] == .object([:]))
        #expect(APIError.tooManyRequests(retryAfterSeconds: 3).statusJSON()["details"] == json(#"{"retryAfterSeconds":3}"#))
        #expect(APIError.tooManyRequests(retryAfterSeconds: 3).retryAfterSeconds == 3)
        #expect(APIError.timeout("x").statusJSON()["details"] == .object([:]))
        #expect(APIError.timeout("x").retryAfterSeconds == nil)
        #expect(APIError.internalError("boom").statusJSON()["details"] == json(#"{"causes":[{"message":"boom"}]}"#))
        #expect(APIError.generateNameConflict(Self.pods, name: "p").statusJSON()["details"]
            == json(#"{"name":"p","kind":"pods","retryAfterSeconds":1}"#))
        #expect(APIError.methodNotSupported(Self.deployments, action: "create").statusJSON()["details"]
            == json(#"{"group":"apps","kind":"deployments"}"#))
    }

    @Test func invalidListsCauses() {
        let errs: [FieldError] = [
            .required(FieldPath("spec.containers").index(0).child("name")),
            .invalid("metadata.name", value: "Bad_Name", "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
            .notSupported("spec.restartPolicy", value: "Sometimes", supported: ["Always", "OnFailure", "Never"]),
            .duplicate(FieldPath("spec.containers").index(1).child("name"), value: "app"),
            .forbidden("spec.containers", "may not add or remove containers"),
            .tooLong("metadata.annotations", maxLength: 262144),
        ]
        let e = APIError.invalid(GroupKind(kind: "Pod"), name: "x", errors: errs)
        #expect(e.code == 422)
        #expect(e.reason == .invalid)
        #expect(e.message == "Pod \"x\" is invalid: [" + errs.map(\.description).joined(separator: ", ") + "]")
        #expect(errs.map(\.description) == [
            "spec.containers[0].name: Required value",
            "metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
            "spec.containers[1].name: Duplicate value: \"app\"",
            "spec.containers: Forbidden: may not add or remove containers",
            "metadata.annotations: Too long: may not be more than 262144 bytes",
        ])
        #expect(e.statusJSON()["details"] == json(#"""
        {"name":"x","kind":"Pod","causes":[
          {"reason":"FieldValueRequired","message":"Required value","field":"spec.containers[0].name"},
          {"reason":"FieldValueInvalid","message":"Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')","field":"metadata.name"},
          {"reason":"FieldValueNotSupported","message":"Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"","field":"spec.restartPolicy"},
          {"reason":"FieldValueDuplicate","message":"Duplicate value: \"app\"","field":"spec.containers[1].name"},
          {"reason":"FieldValueForbidden","message":"Forbidden: may not add or remove containers","field":"spec.containers"},
          {"reason":"FieldValueTooLong","message":"Too long: may not be more than 262144 bytes","field":"metadata.annotations"}]}
        """#))
    }

    @Test func invalidWithOneErrorAndWithGroup() {
        let one = APIError.invalid(GroupKind(kind: "Pod"), name: "x", errors: [.required("spec.containers[0].name")])
        #expect(one.message == "Pod \"x\" is invalid: spec.containers[0].name: Required value")
        let grouped = APIError.invalid(GroupKind(group: "apps", kind: "Deployment"), name: "web",
                                       errors: [.invalid("spec.replicas", value: -1, "must be greater than or equal to 0")])
        #expect(grouped.message == "Deployment.apps \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0")
        #expect(grouped.statusJSON()["details"]?["group"] == .string("apps"))
        // Repeated messages are listed once, as Kubernetes' aggregate does; causes keep them all.
        let twice = APIError.invalid(GroupKind(kind: "Pod"), name: "x", errors: [.required("a"), .required("a")])
        #expect(twice.message == "Pod \"x\" is invalid: a: Required value")
        #expect(twice.details?.causes.count == 2)
        #expect(APIError.invalid(GroupKind(kind: "Pod"), name: "x", errors: []).message == "Pod \"x\" is invalid")
    }

    @Test func expiredContinueCarriesAToken() {
        let plain = APIError.continueExpired()
        #expect(plain.message == "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")
        #expect(plain.statusJSON()["metadata"] == .object([:]))
        let withToken = APIError.continueExpired(newContinueToken: "tok")
        #expect(withToken.message.hasPrefix("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response"))
        #expect(withToken.statusJSON()["metadata"] == json(#"{"continue":"tok"}"#))
        #expect(withToken.code == 410)
        #expect(withToken.reason == .expired)
    }

    @Test func typedStatusEncodesTheSameJSON() throws {
        let samples: [APIError] = [
            .notFound(Self.deployments, name: "web"),
            .invalid(GroupKind(kind: "Pod"), name: "x", errors: [.required("spec.containers")]),
            .tooManyRequests(retryAfterSeconds: 2),
            .continueExpired(newContinueToken: "t"),
            .badRequest("bad"),
            .notFoundPath(),
        ]
        for e in samples {
            let data = try KubeJSON.encode(e.status)
            #expect(try KubeJSON.decode(JSONValue.self, from: data) == e.statusJSON(), "\(e.message)")
        }
    }
}
