internal import CRabbitMQ
import Foundation

extension amqp_bytes_t {
    var asArray: [UInt8] {
        guard let bytes, len > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: len))
    }

    /// A delivery body: the bytes, stored with `Delivery.spareCapacity` bytes of capacity after them.
    var asBody: [UInt8] {
        guard let bytes, len > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: len + Delivery.spareCapacity) { buffer, initialized in
            guard let destination = buffer.baseAddress else { return }
            destination.initialize(from: bytes.assumingMemoryBound(to: UInt8.self), count: len)
            initialized = len
        }
    }

    var asString: String {
        guard let bytes, len > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: len), as: UTF8.self)
    }
}

func libraryMessage(_ status: Int32) -> String {
    guard let text = amqp_error_string2(status) else { return "unknown rabbitmq-c error" }
    return String(cString: text)
}

/// Memory for the C structures of one request (strings, tables, properties), freed all at once. Built on
/// rabbitmq-c's own pool so that nothing handed to the library outlives or underlives its use.
final class CScratch {
    private let pool: UnsafeMutablePointer<amqp_pool_t>

    init() {
        pool = .allocate(capacity: 1)
        init_amqp_pool(pool, 4096)
    }

    deinit {
        empty_amqp_pool(pool)
        pool.deallocate()
    }

    func bytes(_ text: String) -> amqp_bytes_t {
        bytes(Array(text.utf8))
    }

    func bytes(_ data: [UInt8]) -> amqp_bytes_t {
        guard !data.isEmpty, let memory = amqp_pool_alloc(pool, data.count) else {
            return amqp_bytes_t(len: 0, bytes: nil)
        }
        data.withUnsafeBytes { source in
            UnsafeMutableRawBufferPointer(start: memory, count: data.count).copyMemory(from: source)
        }
        return amqp_bytes_t(len: data.count, bytes: memory)
    }

    func table(_ fields: FieldTable) -> amqp_table_t {
        guard !fields.isEmpty,
            let memory = amqp_pool_alloc(pool, MemoryLayout<amqp_table_entry_t>.stride * fields.count)
        else {
            return amqp_empty_table
        }
        let entries = memory.bindMemory(to: amqp_table_entry_t.self, capacity: fields.count)
        for (index, (key, value)) in fields.sorted(by: { $0.key < $1.key }).enumerated() {
            (entries + index).initialize(to: amqp_table_entry_t(key: bytes(key), value: fieldValue(value)))
        }
        return amqp_table_t(num_entries: Int32(fields.count), entries: entries)
    }

    private func array(_ values: [FieldValue]) -> amqp_array_t {
        guard !values.isEmpty,
            let memory = amqp_pool_alloc(pool, MemoryLayout<amqp_field_value_t>.stride * values.count)
        else {
            return amqp_array_t(num_entries: 0, entries: nil)
        }
        let entries = memory.bindMemory(to: amqp_field_value_t.self, capacity: values.count)
        for (index, value) in values.enumerated() {
            (entries + index).initialize(to: fieldValue(value))
        }
        return amqp_array_t(num_entries: Int32(values.count), entries: entries)
    }

    private func fieldValue(_ value: FieldValue) -> amqp_field_value_t {
        var field = amqp_field_value_t()
        switch value {
        case .bool(let flag):
            field.kind = UInt8(AMQP_FIELD_KIND_BOOLEAN.rawValue)
            field.value.boolean = flag ? 1 : 0
        case .int(let number):
            field.kind = UInt8(AMQP_FIELD_KIND_I64.rawValue)
            field.value.i64 = number
        case .double(let number):
            field.kind = UInt8(AMQP_FIELD_KIND_F64.rawValue)
            field.value.f64 = number
        case .string(let text):
            field.kind = UInt8(AMQP_FIELD_KIND_UTF8.rawValue)
            field.value.bytes = bytes(text)
        case .bytes(let data):
            field.kind = UInt8(AMQP_FIELD_KIND_BYTES.rawValue)
            field.value.bytes = bytes(data)
        case .timestamp(let seconds):
            field.kind = UInt8(AMQP_FIELD_KIND_TIMESTAMP.rawValue)
            field.value.u64 = seconds
        case .table(let nested):
            field.kind = UInt8(AMQP_FIELD_KIND_TABLE.rawValue)
            field.value.table = table(nested)
        case .array(let values):
            field.kind = UInt8(AMQP_FIELD_KIND_ARRAY.rawValue)
            field.value.array = array(values)
        case .void:
            field.kind = UInt8(AMQP_FIELD_KIND_VOID.rawValue)
        }
        return field
    }

    /// Callers check `OutgoingMessage.unpublishableReason` first: rabbitmq-c writes header names of more than 255
    /// bytes with a truncated length.
    func properties(_ properties: MessageProperties) -> amqp_basic_properties_t {
        var result = amqp_basic_properties_t()
        var flags: UInt32 = 0
        func text(_ value: String?, _ flag: Int32, _ field: WritableKeyPath<amqp_basic_properties_t, amqp_bytes_t>) {
            guard let value else { return }
            result[keyPath: field] = bytes(value)
            flags |= UInt32(flag)
        }
        text(properties.contentType, AMQP_BASIC_CONTENT_TYPE_FLAG, \.content_type)
        text(properties.contentEncoding, AMQP_BASIC_CONTENT_ENCODING_FLAG, \.content_encoding)
        text(properties.messageID, AMQP_BASIC_MESSAGE_ID_FLAG, \.message_id)
        text(properties.correlationID, AMQP_BASIC_CORRELATION_ID_FLAG, \.correlation_id)
        text(properties.type, AMQP_BASIC_TYPE_FLAG, \.type)
        text(properties.appID, AMQP_BASIC_APP_ID_FLAG, \.app_id)
        if let timestamp = properties.timestamp {
            result.timestamp = MessageProperties.timestamp(from: timestamp)
            flags |= UInt32(AMQP_BASIC_TIMESTAMP_FLAG)
        }
        if let deliveryMode = properties.deliveryMode {
            result.delivery_mode = deliveryMode.rawValue
            flags |= UInt32(AMQP_BASIC_DELIVERY_MODE_FLAG)
        }
        if let priority = properties.priority {
            result.priority = priority
            flags |= UInt32(AMQP_BASIC_PRIORITY_FLAG)
        }
        if !properties.headers.isEmpty {
            result.headers = table(properties.headers)
            flags |= UInt32(AMQP_BASIC_HEADERS_FLAG)
        }
        result._flags = flags
        return result
    }
}

/// Reads what rabbitmq-c decoded from a frame. Everything here comes from the wire, so no conversion may trap:
/// integers widen, unsigned 64-bit values beyond Int64 become doubles, text is repaired to UTF-8, and nesting
/// beyond `WireLimits.maximumNestingDepth` reads as `.void`.
enum CReading {
    /// `depth` is the level of this table, the headers table being level 1.
    static func table(_ table: amqp_table_t, depth: Int = 1) -> FieldTable {
        guard table.num_entries > 0, let entries = table.entries else { return [:] }
        var result: FieldTable = [:]
        result.reserveCapacity(Int(table.num_entries))
        for index in 0..<Int(table.num_entries) {
            let entry = entries[index]
            result[entry.key.asString] = fieldValue(entry.value, depth: depth)
        }
        return result
    }

    /// `depth` is the level of the table or array holding the value.
    static func fieldValue(_ field: amqp_field_value_t, depth: Int) -> FieldValue {
        switch UInt32(field.kind) {
        case AMQP_FIELD_KIND_BOOLEAN.rawValue: return .bool(field.value.boolean != 0)
        case AMQP_FIELD_KIND_I8.rawValue: return .int(Int64(field.value.i8))
        case AMQP_FIELD_KIND_U8.rawValue: return .int(Int64(field.value.u8))
        case AMQP_FIELD_KIND_I16.rawValue: return .int(Int64(field.value.i16))
        case AMQP_FIELD_KIND_U16.rawValue: return .int(Int64(field.value.u16))
        case AMQP_FIELD_KIND_I32.rawValue: return .int(Int64(field.value.i32))
        case AMQP_FIELD_KIND_U32.rawValue: return .int(Int64(field.value.u32))
        case AMQP_FIELD_KIND_I64.rawValue: return .int(field.value.i64)
        case AMQP_FIELD_KIND_U64.rawValue:
            return Int64(exactly: field.value.u64).map(FieldValue.int) ?? .double(Double(field.value.u64))
        case AMQP_FIELD_KIND_F32.rawValue: return .double(Double(field.value.f32))
        case AMQP_FIELD_KIND_F64.rawValue: return .double(field.value.f64)
        case AMQP_FIELD_KIND_DECIMAL.rawValue:
            let decimal = field.value.decimal
            return .double(Double(decimal.value) / pow(10, Double(decimal.decimals)))
        case AMQP_FIELD_KIND_UTF8.rawValue: return .string(field.value.bytes.asString)
        case AMQP_FIELD_KIND_BYTES.rawValue: return .bytes(field.value.bytes.asArray)
        case AMQP_FIELD_KIND_TIMESTAMP.rawValue: return .timestamp(field.value.u64)
        case AMQP_FIELD_KIND_TABLE.rawValue:
            guard depth < WireLimits.maximumNestingDepth else { return .void }
            return .table(table(field.value.table, depth: depth + 1))
        case AMQP_FIELD_KIND_ARRAY.rawValue:
            guard depth < WireLimits.maximumNestingDepth else { return .void }
            let array = field.value.array
            guard array.num_entries > 0, let entries = array.entries else { return .array([]) }
            return .array((0..<Int(array.num_entries)).map { fieldValue(entries[$0], depth: depth + 1) })
        default: return .void
        }
    }

    /// The message and correlation ids differ from message to message and are made afresh; the other texts
    /// repeat and come from `recentTexts`.
    static func properties(_ properties: amqp_basic_properties_t, recentTexts: inout RecentTexts) -> MessageProperties {
        let flags = properties._flags
        func has(_ flag: Int32) -> Bool { flags & UInt32(flag) != 0 }
        func text(_ flag: Int32, _ value: amqp_bytes_t) -> String? { has(flag) ? recentTexts.text(value) : nil }
        return MessageProperties(
            contentType: text(AMQP_BASIC_CONTENT_TYPE_FLAG, properties.content_type),
            messageID: has(AMQP_BASIC_MESSAGE_ID_FLAG) ? properties.message_id.asString : nil,
            timestamp: has(AMQP_BASIC_TIMESTAMP_FLAG)
                ? MessageProperties.date(fromTimestamp: properties.timestamp) : nil,
            type: text(AMQP_BASIC_TYPE_FLAG, properties.type),
            deliveryMode: has(AMQP_BASIC_DELIVERY_MODE_FLAG)
                ? MessageProperties.DeliveryMode(rawValue: properties.delivery_mode) : nil,
            headers: has(AMQP_BASIC_HEADERS_FLAG) ? table(properties.headers) : [:],
            contentEncoding: text(AMQP_BASIC_CONTENT_ENCODING_FLAG, properties.content_encoding),
            correlationID: has(AMQP_BASIC_CORRELATION_ID_FLAG) ? properties.correlation_id.asString : nil,
            appID: text(AMQP_BASIC_APP_ID_FLAG, properties.app_id),
            priority: has(AMQP_BASIC_PRIORITY_FLAG) ? properties.priority : nil
        )
    }
}

extension Duration {
    var timeval: timeval {
        let (seconds, attoseconds) = components
        return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }

    var milliseconds: Int {
        Int(components.seconds) * 1000 + Int(components.attoseconds / 1_000_000_000_000_000)
    }
}
