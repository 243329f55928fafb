import ArgumentParser
import CapstanAPIServer
import Logging
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// `capstan server`: the control plane: the API server, the scheduler and the controller
/// manager (the last two as API clients over loopback).
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run the control plane: the Kubernetes API server over HTTPS, the scheduler and the controllers.")

    @Option(name: .long, help: "Address to listen on.")
    var bindAddress = "127.0.0.1"

    @Option(name: .long, help: "Port to listen on.")
    var port = 6443

    @Option(name: .long, help: "Directory for the store, certificates and kubeconfig.")
    var dataDir = "./capstan-data"

    @Option(name: .long, help: "sqlite://PATH (default: <data-dir>/state.db) or etcd://HOST:PORT[,HOST:PORT...].")
    var datastore: String?

    @Option(name: .long, help: "Bearer tokens, one per line: token,user,uid,\"group1,group2\".")
    var tokenAuthFile: String?

    @Option(name: .long, help: "The range Service ClusterIPs come from.")
    var serviceClusterIPRange = "10.43.0.0/16"

    @Option(name: .long, help: "Controllers to run, comma separated: `*` (all), `name`, `-name` (as kube-controller-manager).")
    var controllers = "*"

    @Flag(name: .long, help: "Run the API server only (no scheduler, no controllers).")
    var apiOnly = false

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        var config = APIServerConfiguration()
        config.bindAddress = bindAddress
        config.port = port
        config.dataDirectory = dataDir
        config.datastore = datastore
        config.tokenFile = tokenAuthFile
        config.serviceCIDR = serviceClusterIPRange
        var logger = Logger(label: "capstan.server")
        logger.logLevel = logLevel
        let server: APIServer
        do {
            server = try await APIServer.open(config, logger: logger)
        } catch {
            throw ValidationError("\(error)")
        }
        let host = bindAddress == "0.0.0.0" ? "127.0.0.1" : bindAddress
        let ready = Readiness()
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: ServingService(server: server, host: host, ready: ready)),
        ]
        if !apiOnly {
            var control = ControlPlane(kubeconfigPath: dataDir + "/kubeconfig",
                                       controllers: controllers.split(separator: ",").map(String.init), logger: logger)
            control.clusterCAPEM = server.pki?.caCertificatePEM
            control.localTransport = server.localTransport()
            // Several servers share an etcd store; the embedded SQLite store admits one server.
            control.leaderElection = datastore?.hasPrefix("etcd://") ?? false
            do { try control.validate() } catch { throw ValidationError("--controllers: \(error)") }
            let plane = control
            services.append(.init(service: UpComponentService(ready: ready) { try await plane.run() }))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Runs the API server and prints where it serves and how to use it.
struct ServingService: Service {
    let server: APIServer
    let host: String
    var ready: Readiness?

    func run() async throws {
        try await server.run { port in
            let kubeconfig = (try? server.writeKubeconfig(host: host)) ?? nil
            print("API serving on https://\(host):\(port)")
            if let kubeconfig {
                print("export KUBECONFIG=\(kubeconfig)")
            }
            // Progress lines must reach pipes and logs as they happen.
            fflush(nil)
            ready?.open()
        }
    }
}
