import Foundation
import Hummingbird
import Logging
import MinerIndex

/// Health, readiness, Prometheus metrics and the JSON read API, on Hummingbird.
public enum HTTPServer {
    /// The application, to run in the same `ServiceGroup` as the service. `onListening` receives the bound port
    /// (useful with port 0).
    public static func application(
        service: MinerIndexService, metrics: PrometheusExport, host: String, port: Int, logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router()
        let readAPI = ReadAPI(indexes: service.indexes, histories: service.histories)

        router.get("/healthz") { _, _ in
            text("ok\n")
        }
        router.get("/readyz") { _, _ in
            let readiness = service.readiness
            return text(readiness.reason + "\n", status: readiness.ready ? .ok : .serviceUnavailable)
        }
        router.get("/metrics") { _, _ in
            let fleet = await service.fleetReading()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.render(fleet: fleet))))
        }

        // The read API shows LAN addresses and pool accounts, so it takes the bearer token when one is set.
        // The middleware belongs to the route group, not to a path prefix check, so no spelling of a path can
        // reach these handlers around it.
        let readRoutes = router.group("v1")
        if let token = service.configuration.httpToken {
            readRoutes.add(middleware: BearerTokenMiddleware(token: token))
        }
        let staleAfterSeconds = service.configuration.staleAfter.secondsValue
        addRoutes(
            to: readRoutes, readAPI, service.indexes.asic, history: service.histories.asic,
            staleAfterSeconds: staleAfterSeconds)
        addRoutes(
            to: readRoutes, readAPI, service.indexes.cpuGpu, history: service.histories.cpuGpu,
            staleAfterSeconds: staleAfterSeconds)
        readRoutes.get("asic_miners/:id/history") { _, context in
            await respond { () throws(ReadAPI.Failure) in
                try await readAPI.asicHistory(context.parameters.get("id") ?? "")
            }
        }

        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "miner-index"),
            onServerRunning: { channel in
                await onListening(channel.localAddress?.port ?? port)
            },
            logger: logger)
    }

    /// `/v1/<kind>_miners`, `…/aggregated_index`, `…/aggregated_history`, `…/list` and `…/:id` of one kind.
    private static func addRoutes<Source: SnapshotSource>(
        to routes: RouterGroup<BasicRequestContext>, _ readAPI: ReadAPI, _ source: Source,
        history: SharedAggregatedHistory, staleAfterSeconds: Double
    ) where Source.Miner: FleetHealthMiner, Source.Log: MinerListLog {
        let path = Source.kind.messagePrefix + "s"
        routes.get(RouterPath(path)) { _, _ in json(await readAPI.index(source)) }
        let listSnapshots = MinerListSnapshots(source: source)
        routes.get(RouterPath(path + "/list")) { request, _ in
            await respond { () throws(ReadAPI.Failure) in
                let query = try MinerListParameters.query(
                    request.uri.queryParameters.map { (name: String($0.key), value: String($0.value)) })
                let snapshot = await listSnapshots.snapshot()
                let now = Timestamp(Date())
                return await MinerListQueue.run {
                    snapshot.list(query, now: now, staleAfterSeconds: staleAfterSeconds).json(
                        sequence: snapshot.version, hasModel: Source.Miner.hasModelBreakdown)
                }
            }
        }
        routes.get(RouterPath(path + "/aggregated_index")) { _, _ in json(await readAPI.aggregatedIndex(source)) }
        routes.get(RouterPath(path + "/aggregated_history")) { request, _ in
            await Self.history(readAPI, history, request)
        }
        routes.get(RouterPath(path + "/:id")) { _, context in
            await respond { () throws(ReadAPI.Failure) in
                try await readAPI.miner(source, context.parameters.get("id") ?? "")
            }
        }
    }

    private static func history(_ readAPI: ReadAPI, _ history: SharedAggregatedHistory, _ request: Request) async
        -> Response
    {
        let query = request.uri.queryParameters
        return await respond { () throws(ReadAPI.Failure) in
            try readAPI.aggregatedHistory(
                history, resolution: query["resolution"].map(String.init),
                since: query["since"].map(String.init))
        }
    }

    private static func respond(_ body: () async throws(ReadAPI.Failure) -> [UInt8]) async -> Response {
        do {
            return json(try await body())
        } catch {
            switch error {
            case .malformedID(let reason), .badQuery(let reason): return errorJSON(reason, status: .badRequest)
            case .notFound(let reason): return errorJSON(reason, status: .notFound)
            }
        }
    }

    private static func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    private static func errorJSON(_ message: String, status: HTTPResponse.Status) -> Response {
        let body = (try? JSONSerialization.data(withJSONObject: ["error": message])) ?? Data("{}".utf8)
        return json(Array(body), status: status)
    }

    private static func text(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
