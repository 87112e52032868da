import Foundation
import Hummingbird

/// The secret that guards the read API. Its text never leaves this type: `description`, `debugDescription` and
/// the reflection mirror all say only that a token is set, so logging a configuration cannot leak it.
public struct HTTPToken: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let bytes: [UInt8]

    /// nil for an empty token, which would let anyone in who sends `Authorization: Bearer `.
    public init?(_ text: String) {
        guard !text.isEmpty else { return nil }
        bytes = Array(text.utf8)
    }

    /// Whether an `Authorization` header value carries this token as a bearer credential. The comparison takes
    /// the same time wherever the first differing byte is, so response times do not reveal the token byte by byte.
    public func isPresented(in authorization: String?) -> Bool {
        guard let authorization else { return false }
        let header = Array(authorization.utf8)
        // The scheme is case-insensitive (RFC 9110); the token is compared byte for byte.
        guard header.count > 7, String(decoding: header.prefix(7), as: UTF8.self).lowercased() == "bearer " else {
            return false
        }
        let presented = header.dropFirst(7)
        var difference = UInt(bitPattern: presented.count ^ bytes.count)
        for index in bytes.indices {
            let byte = index < presented.count ? presented[presented.startIndex + index] : 0
            difference |= UInt(byte ^ bytes[index])
        }
        return difference == 0
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "HTTPToken(<redacted>)" }
    public var customMirror: Mirror { Mirror(self, children: []) }
}

/// Answers 401 to a request without the configured bearer token; applied to the read API's routes only, so
/// health checks and Prometheus scrapes keep working without it.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: HTTPToken

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let authorization = request.headers[.authorization]
        guard token.isPresented(in: authorization) else {
            // RFC 6750: a request without credentials gets the bare challenge; a wrong token says so.
            let challenge =
                authorization == nil
                ? "Bearer realm=\"miner-index\"" : "Bearer realm=\"miner-index\", error=\"invalid_token\""
            let message = authorization == nil ? "a bearer token is required" : "the bearer token is not valid"
            let body = (try? JSONSerialization.data(withJSONObject: ["error": message])) ?? Data("{}".utf8)
            return Response(
                status: .unauthorized,
                headers: [.contentType: "application/json", .wwwAuthenticate: challenge],
                body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        return try await next(request, context)
    }
}
