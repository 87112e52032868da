#include "CSimdJSON.h"

#include <simdjson.h>

#include <charconv>
#include <cstring>
#include <new>
#include <string>
#include <vector>

namespace {

// Open addressing over a flat power-of-two table: the schemas hold at most a few hundred short keys, so the
// table stays in cache. The hash reads the first and last eight bytes of a key rather than every byte: the keys
// differ at their start ("pool_1_…", "pool_2_…") or at their end ("…_temp_1", "…_temp_2"), and a collision
// only costs a probe, since every match is confirmed with memcmp.
struct KeyTable {
    std::vector<std::string> keys;
    std::vector<int32_t> table;
    uint64_t mask = 0;

    static uint64_t hash(const char *data, size_t length) {
        uint64_t head = 0, tail = 0;
        if (length >= 8) {
            std::memcpy(&head, data, 8);
            std::memcpy(&tail, data + length - 8, 8);
        } else {
            std::memcpy(&head, data, length);
        }
        uint64_t value = (head * 0x9E3779B97F4A7C15ULL) ^ (tail * 0xC2B2AE3D27D4EB4FULL) ^ length;
        return value ^ (value >> 29);
    }

    void build() {
        size_t size = 16;
        while (size < keys.size() * 4) size <<= 1;
        table.assign(size, -1);
        mask = size - 1;
        for (size_t slot = 0; slot < keys.size(); ++slot) {
            uint64_t position = hash(keys[slot].data(), keys[slot].size()) & mask;
            while (table[position] != -1) position = (position + 1) & mask;
            table[position] = static_cast<int32_t>(slot);
        }
    }

    int32_t find(std::string_view key) const {
        uint64_t position = hash(key.data(), key.size()) & mask;
        while (true) {
            int32_t slot = table[position];
            if (slot == -1) return -1;
            const std::string &candidate = keys[static_cast<size_t>(slot)];
            if (candidate.size() == key.size() && std::memcmp(candidate.data(), key.data(), key.size()) == 0) {
                return slot;
            }
            position = (position + 1) & mask;
        }
    }
};

void fill(csj_value &slot, simdjson::dom::element value) {
    using simdjson::dom::element_type;
    slot = csj_value{};
    switch (value.type()) {
    case element_type::NULL_VALUE:
        slot.kind = CSJ_NULL;
        break;
    case element_type::BOOL:
        slot.kind = CSJ_BOOL;
        slot.boolean = value.get_bool().value_unsafe() ? 1 : 0;
        break;
    case element_type::INT64: {
        int64_t integer = value.get_int64().value_unsafe();
        slot.kind = CSJ_NUMBER;
        slot.is_integer = 1;
        slot.integer = integer;
        slot.number = static_cast<double>(integer);
        break;
    }
    case element_type::UINT64:
        // Only integers above INT64_MAX land here; Swift sees them as a plain number and rejects them as ids.
        slot.kind = CSJ_NUMBER;
        slot.number = static_cast<double>(value.get_uint64().value_unsafe());
        break;
    case element_type::DOUBLE:
        slot.kind = CSJ_NUMBER;
        slot.number = value.get_double().value_unsafe();
        break;
    case element_type::STRING: {
        std::string_view text = value.get_string().value_unsafe();
        slot.kind = CSJ_STRING;
        slot.string_start = text.data();
        slot.string_length = static_cast<uint32_t>(text.size());
        break;
    }
    case element_type::ARRAY:
        slot.kind = CSJ_ARRAY;
        break;
    case element_type::OBJECT:
        slot.kind = CSJ_OBJECT;
        break;
    }
}

}  // namespace

struct csj_schema {
    KeyTable keys;
};

extern "C" csj_schema *csj_schema_create(const char *const *keys, const uint32_t *key_lengths, uint32_t count) {
    csj_schema *schema = new (std::nothrow) csj_schema();
    if (schema == nullptr) return nullptr;
    schema->keys.keys.reserve(count);
    for (uint32_t index = 0; index < count; ++index) {
        schema->keys.keys.emplace_back(keys[index], key_lengths[index]);
    }
    schema->keys.build();
    return schema;
}

extern "C" void csj_schema_destroy(csj_schema *schema) { delete schema; }

extern "C" uint32_t csj_schema_count(const csj_schema *schema) {
    return static_cast<uint32_t>(schema->keys.keys.size());
}

extern "C" csj_status csj_parse_object(const csj_schema *schema, const uint8_t *bytes, size_t length,
                                       csj_value *slots) {
    // One parser per thread: simdjson parsers are not thread-safe, and reusing one keeps its buffers warm.
    thread_local simdjson::dom::parser parser;
    const size_t count = schema->keys.keys.size();
    for (size_t index = 0; index < count; ++index) slots[index] = csj_value{};

    simdjson::dom::element root;
    simdjson::error_code error = parser.parse(bytes, length).get(root);
    if (error == simdjson::MEMALLOC) return CSJ_OUT_OF_MEMORY;
    if (error) return CSJ_INVALID_JSON;
    simdjson::dom::object object;
    if (root.get_object().get(object)) return CSJ_NOT_AN_OBJECT;
    for (simdjson::dom::key_value_pair member : object) {
        int32_t slot = schema->keys.find(member.key);
        if (slot >= 0) fill(slots[slot], member.value);
    }
    return CSJ_OK;
}

extern "C" uint32_t csj_format_double(double value, char *buffer) {
    std::to_chars_result result = std::to_chars(buffer, buffer + 32, value);
    return static_cast<uint32_t>(result.ptr - buffer);
}
