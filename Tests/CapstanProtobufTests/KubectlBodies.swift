import Testing

// Request bodies captured from real kubectl: 1.33 (protobuf) and 1.31 (JSON) running the same
// command against a throwaway local HTTP server. blob.bin is the 11 bytes 00 01 fe ff "binary\n".
struct KubectlBody: Sendable, CustomTestStringConvertible {
    let name: String
    let command: String
    let path: String
    /// kubectl 1.33's body, base64.
    let protobuf: String
    /// kubectl 1.31's body for the same command.
    let json: String

    var testDescription: String { name }
}

extension KubectlBody {
    static let all: [KubectlBody] = [
        KubectlBody(
            name: "configmap",
            command: "kubectl create configmap x --from-literal=a=b --from-literal=greeting=hello",
            path: "/api/v1/namespaces/default/configmaps?fieldManager=kubectl-create&fieldValidation=Strict",
            protobuf: "azhzAAoPCgJ2MRIJQ29uZmlnTWFwEjUKGAoBeBIAGgdkZWZhdWx0IgAqADIAOABCABIGCgFhEgFiEhEKCGdyZWV0aW5nEgVoZWxsbxoAIgA=",
            json: #"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"x","namespace":"default","creationTimestamp":null},"data":{"a":"b","greeting":"hello"}}"#
        ),
        KubectlBody(
            name: "deployment",
            command: "kubectl create deployment d --image=nginx --replicas=0",
            path: "/apis/apps/v1/namespaces/default/deployments?fieldManager=kubectl-create&fieldValidation=Strict",
            protobuf: "azhzAAoVCgdhcHBzL3YxEgpEZXBsb3ltZW50EqoBCiIKAWQSABoHZGVmYXVsdCIAKgAyADgAQgBaCAoDYXBwEgFkEnYIABIKCggKA2FwcBIBZBpeChoKABIAGgAiACoAMgA4AEIAWggKA2FwcBIBZBJAEiIKBW5naW54EgVuZ2lueCoAQgBqAHIAgAEAiAEAkAEAogEAGgAyAEIASgBSAFgAYABoAIIBAIoBAJoBAMIBACICCgAoADgAGgwIABAAGAAgACgAOAAaACIA",
            json: #"{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"d","namespace":"default","creationTimestamp":null,"labels":{"app":"d"}},"spec":{"replicas":0,"selector":{"matchLabels":{"app":"d"}},"template":{"metadata":{"creationTimestamp":null,"labels":{"app":"d"}},"spec":{"containers":[{"name":"nginx","image":"nginx","resources":{}}]}},"strategy":{}},"status":{}}"#
        ),
        KubectlBody(
            name: "secret",
            command: "kubectl create secret generic s --from-literal=k=v",
            path: "/api/v1/namespaces/default/secrets?fieldManager=kubectl-create&fieldValidation=Strict",
            protobuf: "azhzAAoMCgJ2MRIGU2VjcmV0EiQKGAoBcxIAGgdkZWZhdWx0IgAqADIAOABCABIGCgFrEgF2GgAaACIA",
            json: #"{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s","namespace":"default","creationTimestamp":null},"data":{"k":"dg=="}}"#
        ),
        KubectlBody(
            name: "namespace",
            command: "kubectl create namespace ns1",
            path: "/api/v1/namespaces?fieldManager=kubectl-create&fieldValidation=Strict",
            protobuf: "azhzAAoPCgJ2MRIJTmFtZXNwYWNlEhsKEwoDbnMxEgAaACIAKgAyADgAQgASABoCCgAaACIA",
            json: #"{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"ns1","creationTimestamp":null},"spec":{},"status":{}}"#
        ),
        KubectlBody(
            name: "service",
            command: "kubectl create service clusterip svc --tcp=80:8080",
            path: "/api/v1/namespaces/default/services?fieldManager=kubectl-create&fieldValidation=Strict",
            protobuf: "azhzAAoNCgJ2MRIHU2VydmljZRJwCiYKA3N2YxIAGgdkZWZhdWx0IgAqADIAOABCAFoKCgNhcHASA3N2YxJCChsKBzgwLTgwODASA1RDUBhQIgcIABCQPxoAKAASCgoDYXBwEgNzdmMaACIJQ2x1c3RlcklQOgBCAFIAWgBgAGgAGgIKABoAIgA=",
            json: #"{"kind":"Service","apiVersion":"v1","metadata":{"name":"svc","namespace":"default","creationTimestamp":null,"labels":{"app":"svc"}},"spec":{"ports":[{"name":"80-8080","protocol":"TCP","port":80,"targetPort":8080}],"selector":{"app":"svc"},"type":"ClusterIP"},"status":{"loadBalancer":{}}}"#
        ),
        KubectlBody(
            name: "job",
            command: "kubectl create job j --image=busybox -- echo hi",
            path: "/apis/batch/v1/namespaces/default/jobs?fieldManager=kubectl-create&fieldValidation=Strict",
            protobuf: "azhzAAoPCghiYXRjaC92MRIDSm9iEokBChgKAWoSABoHZGVmYXVsdCIAKgAyADgAQgASYzJhChAKABIAGgAiACoAMgA4AEIAEk0SKgoBahIHYnVzeWJveBoEZWNobxoCaGkqAEIAagByAIABAIgBAJABAKIBABoFTmV2ZXIyAEIASgBSAFgAYABoAIIBAIoBAJoBAMIBABoIIAAoADAAOgAaACIA",
            json: #"{"kind":"Job","apiVersion":"batch/v1","metadata":{"name":"j","namespace":"default","creationTimestamp":null},"spec":{"template":{"metadata":{"creationTimestamp":null},"spec":{"containers":[{"name":"j","image":"busybox","command":["echo","hi"],"resources":{}}],"restartPolicy":"Never"}}},"status":{}}"#
        ),
        KubectlBody(
            name: "token",
            command: "kubectl create token default",
            path: "/api/v1/namespaces/default/serviceaccounts/default/token",
            protobuf: "azhzAAooChhhdXRoZW50aWNhdGlvbi5rOHMuaW8vdjESDFRva2VuUmVxdWVzdBIaChAKABIAGgAiACoAMgA4AEIAEgAaBAoAEgAaACIA",
            json: #"{"kind":"TokenRequest","apiVersion":"authentication.k8s.io/v1","metadata":{"creationTimestamp":null},"spec":{"audiences":null,"expirationSeconds":null,"boundObjectRef":null},"status":{"token":"","expirationTimestamp":null}}"#
        ),
        KubectlBody(
            name: "selfSubjectAccessReview",
            command: "kubectl auth can-i create pods",
            path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            protobuf: "azhzAAoyChdhdXRob3JpemF0aW9uLms4cy5pby92MRIXU2VsZlN1YmplY3RBY2Nlc3NSZXZpZXcSPwoQCgASABoAIgAqADIAOABCABIhCh8KB2RlZmF1bHQSBmNyZWF0ZRoAIgAqBHBvZHMyADoAGggIABIAGgAgABoAIgA=",
            json: #"{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"creationTimestamp":null},"spec":{"resourceAttributes":{"namespace":"default","verb":"create","resource":"pods"}},"status":{"allowed":false}}"#
        ),
        KubectlBody(
            name: "selfSubjectRulesReview",
            command: "kubectl auth can-i --list",
            path: "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
            protobuf: "azhzAAoxChdhdXRob3JpemF0aW9uLms4cy5pby92MRIWU2VsZlN1YmplY3RSdWxlc1JldmlldxIjChAKABIAGgAiACoAMgA4AEIAEgkKB2RlZmF1bHQaBBgAIgAaACIA",
            json: #"{"kind":"SelfSubjectRulesReview","apiVersion":"authorization.k8s.io/v1","metadata":{"creationTimestamp":null},"spec":{"namespace":"default"},"status":{"resourceRules":null,"nonResourceRules":null,"incomplete":false}}"#
        ),
        KubectlBody(
            name: "selfSubjectReview",
            command: "kubectl auth whoami",
            path: "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            protobuf: "azhzAAotChhhdXRoZW50aWNhdGlvbi5rOHMuaW8vdjESEVNlbGZTdWJqZWN0UmV2aWV3EhoKEAoAEgAaACIAKgAyADgAQgASBgoECgASABoAIgA=",
            json: #"{"kind":"SelfSubjectReview","apiVersion":"authentication.k8s.io/v1","metadata":{"creationTimestamp":null},"status":{"userInfo":{}}}"#
        ),
        KubectlBody(
            name: "cronjob",
            command: "kubectl create cronjob cj --image=busybox --schedule=\"*/1 * * * *\"",
            path: "/apis/batch/v1/namespaces/default/cronjobs?fieldManager=kubectl-create&fieldValidation=Strict",
            protobuf: "azhzAAoTCghiYXRjaC92MRIHQ3JvbkpvYhKlAQoZCgJjahIAGgdkZWZhdWx0IgAqADIAOABCABKFAQoLKi8xICogKiAqICoaACp0ChIKAmNqEgAaACIAKgAyADgAQgASXjJcChAKABIAGgAiACoAMgA4AEIAEkgSIQoCY2oSB2J1c3lib3gqAEIAagByAIABAIgBAJABAKIBABoJT25GYWlsdXJlMgBCAEoAUgBYAGAAaACCAQCKAQCaAQDCAQAaABoAIgA=",
            json: #"{"kind":"CronJob","apiVersion":"batch/v1","metadata":{"name":"cj","namespace":"default","creationTimestamp":null},"spec":{"schedule":"*/1 * * * *","jobTemplate":{"metadata":{"name":"cj","creationTimestamp":null},"spec":{"template":{"metadata":{"creationTimestamp":null},"spec":{"containers":[{"name":"cj","image":"busybox","resources":{}}],"restartPolicy":"OnFailure"}}}}},"status":{}}"#
        ),
        KubectlBody(
            name: "role",
            command: "kubectl create role r --verb=get --resource=pods",
            path: "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles?fieldManager=kubectl-create&fieldValidation=Strict",
            protobuf: "azhzAAokChxyYmFjLmF1dGhvcml6YXRpb24uazhzLmlvL3YxEgRSb2xlEikKGAoBchIAGgdkZWZhdWx0IgAqADIAOABCABINCgNnZXQSABoEcG9kcxoAIgA=",
            json: #"{"kind":"Role","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"r","namespace":"default","creationTimestamp":null},"rules":[{"verbs":["get"],"apiGroups":[""],"resources":["pods"]}]}"#
        ),
        KubectlBody(
            name: "roleBinding",
            command: "kubectl create rolebinding rb --role=r --user=bob",
            path: "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings?fieldManager=kubectl-create&fieldValidation=Strict",
            protobuf: "azhzAAorChxyYmFjLmF1dGhvcml6YXRpb24uazhzLmlvL3YxEgtSb2xlQmluZGluZxJrChkKAnJiEgAaB2RlZmF1bHQiACoAMgA4AEIAEigKBFVzZXISGXJiYWMuYXV0aG9yaXphdGlvbi5rOHMuaW8aA2JvYiIAGiQKGXJiYWMuYXV0aG9yaXphdGlvbi5rOHMuaW8SBFJvbGUaAXIaACIA",
            json: #"{"kind":"RoleBinding","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"rb","namespace":"default","creationTimestamp":null},"subjects":[{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"bob"}],"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"r"}}"#
        ),
        KubectlBody(
            name: "priorityClass",
            command: "kubectl create priorityclass pc --value=1000",
            path: "/apis/scheduling.k8s.io/v1/priorityclasses?fieldManager=kubectl-create&fieldValidation=Strict",
            protobuf: "azhzAAolChRzY2hlZHVsaW5nLms4cy5pby92MRINUHJpb3JpdHlDbGFzcxIxChIKAnBjEgAaACIAKgAyADgAQgAQ6AcYACIAKhRQcmVlbXB0TG93ZXJQcmlvcml0eRoAIgA=",
            json: #"{"kind":"PriorityClass","apiVersion":"scheduling.k8s.io/v1","metadata":{"name":"pc","creationTimestamp":null},"value":1000,"preemptionPolicy":"PreemptLowerPriority"}"#
        ),
        KubectlBody(
            name: "podDisruptionBudget",
            command: "kubectl create pdb pdb --selector=app=x --min-available=1",
            path: "/apis/policy/v1/namespaces/default/poddisruptionbudgets?fieldManager=kubectl-create&fieldValidation=Strict",
            protobuf: "azhzAAogCglwb2xpY3kvdjESE1BvZERpc3J1cHRpb25CdWRnZXQSPgoaCgNwZGISABoHZGVmYXVsdCIAKgAyADgAQgASFAoGCAAQARoAEgoKCAoDYXBwEgF4GgoIABgAIAAoADAAGgAiAA==",
            json: #"{"kind":"PodDisruptionBudget","apiVersion":"policy/v1","metadata":{"name":"pdb","namespace":"default","creationTimestamp":null},"spec":{"minAvailable":1,"selector":{"matchLabels":{"app":"x"}}},"status":{"disruptionsAllowed":0,"currentHealthy":0,"desiredHealthy":0,"expectedPods":0}}"#
        ),
        KubectlBody(
            name: "resourceQuota",
            command: "kubectl create quota q --hard=cpu=1,memory=1Gi",
            path: "/api/v1/namespaces/default/resourcequotas?fieldManager=kubectl-create&fieldValidation=Strict",
            protobuf: "azhzAAoTCgJ2MRINUmVzb3VyY2VRdW90YRI7ChgKAXESABoHZGVmYXVsdCIAKgAyADgAQgASHQoKCgNjcHUSAwoBMQoPCgZtZW1vcnkSBQoDMUdpGgAaACIA",
            json: #"{"kind":"ResourceQuota","apiVersion":"v1","metadata":{"name":"q","namespace":"default","creationTimestamp":null},"spec":{"hard":{"cpu":"1","memory":"1Gi"}},"status":{}}"#
        ),
        KubectlBody(
            name: "ingress",
            command: "kubectl create ingress ing --rule=\"foo.com/bar=svc:8080\"",
            path: "/apis/networking.k8s.io/v1/namespaces/default/ingresses?fieldManager=kubectl-create&fieldValidation=Strict",
            protobuf: "azhzAAofChRuZXR3b3JraW5nLms4cy5pby92MRIHSW5ncmVzcxJQChoKA2luZxIAGgdkZWZhdWx0IgAqADIAOABCABIuGiwKB2Zvby5jb20SIQofCh0KBC9iYXISDiIMCgNzdmMSBQoAEJA/GgVFeGFjdBoCCgAaACIA",
            json: #"{"kind":"Ingress","apiVersion":"networking.k8s.io/v1","metadata":{"name":"ing","namespace":"default","creationTimestamp":null},"spec":{"rules":[{"host":"foo.com","http":{"paths":[{"path":"/bar","pathType":"Exact","backend":{"service":{"name":"svc","port":{"number":8080}}}}]}}]},"status":{"loadBalancer":{}}}"#
        ),
        KubectlBody(
            name: "deploymentWithPort",
            command: "kubectl create deployment d2 --image=nginx --port=80 --replicas=3",
            path: "/apis/apps/v1/namespaces/default/deployments?fieldManager=kubectl-create&fieldValidation=Strict",
            protobuf: "azhzAAoVCgdhcHBzL3YxEgpEZXBsb3ltZW50ErsBCiQKAmQyEgAaB2RlZmF1bHQiACoAMgA4AEIAWgkKA2FwcBICZDIShAEIAxILCgkKA2FwcBICZDIaawobCgASABoAIgAqADIAOABCAFoJCgNhcHASAmQyEkwSLgoFbmdpbngSBW5naW54KgAyCgoAEAAYUCIAKgBCAGoAcgCAAQCIAQCQAQCiAQAaADIAQgBKAFIAWABgAGgAggEAigEAmgEAwgEAIgIKACgAOAAaDAgAEAAYACAAKAA4ABoAIgA=",
            json: #"{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"d2","namespace":"default","creationTimestamp":null,"labels":{"app":"d2"}},"spec":{"replicas":3,"selector":{"matchLabels":{"app":"d2"}},"template":{"metadata":{"creationTimestamp":null,"labels":{"app":"d2"}},"spec":{"containers":[{"name":"nginx","image":"nginx","ports":[{"containerPort":80}],"resources":{}}]}},"strategy":{}},"status":{}}"#
        ),
        KubectlBody(
            name: "binarySecret",
            command: "kubectl create secret generic bin --from-file=blob.bin --from-literal=user=admin",
            path: "/api/v1/namespaces/default/secrets?fieldManager=kubectl-create&fieldValidation=Strict",
            protobuf: "azhzAAoMCgJ2MRIGU2VjcmV0EkYKGgoDYmluEgAaB2RlZmF1bHQiACoAMgA4AEIAEhcKCGJsb2IuYmluEgsAAf7/YmluYXJ5ChINCgR1c2VyEgVhZG1pbhoAGgAiAA==",
            json: #"{"kind":"Secret","apiVersion":"v1","metadata":{"name":"bin","namespace":"default","creationTimestamp":null},"data":{"blob.bin":"AAH+/2JpbmFyeQo=","user":"YWRtaW4="}}"#
        ),
        KubectlBody(
            name: "binaryConfigMap",
            command: "kubectl create configmap cmbin --from-file=blob.bin --from-literal=x=y",
            path: "/api/v1/namespaces/default/configmaps?fieldManager=kubectl-create&fieldValidation=Strict",
            protobuf: "azhzAAoPCgJ2MRIJQ29uZmlnTWFwEj8KHAoFY21iaW4SABoHZGVmYXVsdCIAKgAyADgAQgASBgoBeBIBeRoXCghibG9iLmJpbhILAAH+/2JpbmFyeQoaACIA",
            json: #"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cmbin","namespace":"default","creationTimestamp":null},"data":{"x":"y"},"binaryData":{"blob.bin":"AAH+/2JpbmFyeQo="}}"#
        ),
        KubectlBody(
            name: "nodePortService",
            command: "kubectl create service nodeport np --tcp=8080:http --node-port=30080",
            path: "/api/v1/namespaces/default/services?fieldManager=kubectl-create&fieldValidation=Strict",
            protobuf: "azhzAAoNCgJ2MRIHU2VydmljZRJ0CiQKAm5wEgAaB2RlZmF1bHQiACoAMgA4AEIAWgkKA2FwcBICbnASSAojCgk4MDgwLWh0dHASA1RDUBiQPyIKCAEQABoEaHR0cCiA6wESCQoDYXBwEgJucBoAIghOb2RlUG9ydDoAQgBSAFoAYABoABoCCgAaACIA",
            json: #"{"kind":"Service","apiVersion":"v1","metadata":{"name":"np","namespace":"default","creationTimestamp":null,"labels":{"app":"np"}},"spec":{"ports":[{"name":"8080-http","protocol":"TCP","port":8080,"targetPort":"http","nodePort":30080}],"selector":{"app":"np"},"type":"NodePort"},"status":{"loadBalancer":{}}}"#
        ),
    ]
}
