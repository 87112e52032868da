#include "CSimdJSON.h"

#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

namespace {

// The longest key a schema may hold. A comparison reads this many bytes of the key it is given, which sits in
// simdjson's string buffer: every string there is followed by others or by the buffer's SIMDJSON_PADDING bytes.
constexpr size_t max_key_length = 32;
static_assert(max_key_length <= simdjson::SIMDJSON_PADDING, "a key comparison may read past the buffer");

// A schema key, zero-padded, with a mask per word that keeps the bytes that belong to it: comparing a candidate
// is then four masked word comparisons with no data-dependent branch. When producers change their key order the
// lookups stop being predictable, and a mispredicted loop exit per key cost more than the comparison itself.
struct alignas(64) PaddedKey {
    char bytes[max_key_length] = {};
    uint64_t masks[max_key_length / 8] = {};
    uint32_t length = 0;

    void assign(const char *name, uint32_t name_length) {
        std::memcpy(bytes, name, name_length);
        length = name_length;
        for (size_t word = 0; word < max_key_length / 8; ++word) {
            const size_t offset = word * 8;
            const size_t counted = name_length > offset ? std::min<size_t>(name_length - offset, 8) : 0;
            masks[word] = counted == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * counted)) - 1;
        }
    }

    // `key` needs max_key_length readable bytes.
    bool matches(std::string_view key) const {
        if (key.size() != length) return false;
        uint64_t difference = 0;
        for (size_t word = 0; word < max_key_length / 8; ++word) {
            uint64_t mine, theirs;
            std::memcpy(&mine, bytes + word * 8, 8);
            std::memcpy(&theirs, key.data() + word * 8, 8);
            difference |= (mine ^ theirs) & masks[word];
        }
        return difference == 0;
    }
};

// Finds a member's key among the schema's keys. Producers write a record's keys in the same order every time, so
// the table remembers which key followed which in the last message and tries that one first: a hit costs one
// branch-free comparison and no hashing. A miss falls back to open addressing over a flat power-of-two table,
// whose hash reads only the first and last eight bytes of a key (the keys differ at their start, "pool_1_…", or at
// their end, "…_temp_1"); a collision only costs a probe.
struct KeyTable {
    std::vector<PaddedKey> keys;
    std::vector<int32_t> table;
    uint64_t mask = 0;
    // successors[0] predicts the first key, successors[slot + 1] the key after `slot`, and successors[count + 1]
    // the key after one outside the schema. Shared by every thread parsing with this schema: a stale or torn
    // prediction only costs a miss, so relaxed order is enough, and it is stored only when it changes so that
    // threads parsing the same layout do not keep invalidating each other's cache line.
    std::unique_ptr<std::atomic<int32_t>[]> successors;

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

    bool build(const char *const *names, const uint32_t *lengths, uint32_t count) {
        keys.resize(count);
        for (uint32_t slot = 0; slot < count; ++slot) {
            if (lengths[slot] > max_key_length) return false;
            keys[slot].assign(names[slot], lengths[slot]);
        }
        size_t size = 16;
        while (size < keys.size() * 4) size <<= 1;
        table.assign(size, -1);
        mask = size - 1;
        for (size_t slot = 0; slot < keys.size(); ++slot) {
            uint64_t position = hash(keys[slot].bytes, keys[slot].length) & mask;
            while (table[position] != -1) position = (position + 1) & mask;
            table[position] = static_cast<int32_t>(slot);
        }
        successors.reset(new (std::nothrow) std::atomic<int32_t>[count + 2]);
        if (!successors) return false;
        for (uint32_t index = 0; index < count + 2; ++index) successors[index].store(-1, std::memory_order_relaxed);
        return true;
    }

    uint32_t count() const { return static_cast<uint32_t>(keys.size()); }

    // The slot of `key`, or -1 for a key outside the schema. `key` needs max_key_length readable bytes.
    int32_t find(std::string_view key) const {
        uint64_t position = hash(key.data(), key.size()) & mask;
        while (true) {
            int32_t slot = table[position];
            if (slot == -1) return -1;
            if (keys[static_cast<size_t>(slot)].matches(key)) return slot;
            position = (position + 1) & mask;
        }
    }

    // Like `find`, for the member that follows the one whose successor index is `previous` (0 for the first
    // member, slot + 1 after a schema key, count + 1 after any other key).
    int32_t find_after(uint32_t previous, std::string_view key) const {
        const int32_t predicted = successors[previous].load(std::memory_order_relaxed);
        if (predicted >= 0 && keys[static_cast<size_t>(predicted)].matches(key)) return predicted;
        const int32_t slot = find(key);
        if (predicted != slot) successors[previous].store(slot, std::memory_order_relaxed);
        return slot;
    }

    uint32_t successor_index(int32_t slot) const {
        return slot >= 0 ? static_cast<uint32_t>(slot) + 1 : count() + 1;
    }
};

// simdjson reads SIMDJSON_PADDING bytes past the body, which a caller's buffer may not have. Asked to, it would
// copy each such body into a freshly allocated buffer; this thread-local one is grown as needed and kept instead.
struct PaddedBuffer {
    std::unique_ptr<uint8_t[]> bytes;
    size_t capacity = 0;

    bool hold(const uint8_t *body, size_t length) {
        const size_t needed = length + simdjson::SIMDJSON_PADDING;
        if (needed > capacity) {
            size_t grown = capacity == 0 ? 4096 : capacity;
            while (grown < needed) grown *= 2;
            bytes.reset(new (std::nothrow) uint8_t[grown]);
            capacity = bytes ? grown : 0;
            if (!bytes) return false;
        }
        std::memcpy(bytes.get(), body, length);
        std::memset(bytes.get() + length, 0, simdjson::SIMDJSON_PADDING);
        return true;
    }
};

}  // namespace

struct csj_schema {
    KeyTable keys;
};

extern "C" csj_schema *csj_schema_create(const char *const *keys, const uint32_t *key_lengths, uint32_t count) {
    csj_schema *schema = new (std::nothrow) csj_schema();
    if (schema == nullptr) return nullptr;
    if (!schema->keys.build(keys, key_lengths, count)) {
        delete schema;
        return nullptr;
    }
    return schema;
}

extern "C" void csj_schema_destroy(csj_schema *schema) { delete schema; }

extern "C" uint32_t csj_schema_count(const csj_schema *schema) { return schema->keys.count(); }

namespace {

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

csj_status parse_into(const KeyTable &keys, simdjson::dom::parser &parser, PaddedBuffer &padded,
                      const uint8_t *bytes, size_t length, size_t readable_after_end, csj_value *slots) {
    for (uint32_t index = 0; index < keys.count(); ++index) slots[index] = csj_value{};
    // simdjson needs SIMDJSON_PADDING bytes after the body allocated and readable; what they hold does not
    // matter. A body that has them is parsed where it is.
    const uint8_t *input = bytes;
    if (readable_after_end < simdjson::SIMDJSON_PADDING) {
        if (!padded.hold(bytes, length)) return CSJ_OUT_OF_MEMORY;
        input = padded.bytes.get();
    }

    simdjson::dom::element root;
    simdjson::error_code error = parser.parse(input, length, false).get(root);
    if (error == simdjson::MEMALLOC) return CSJ_OUT_OF_MEMORY;
    if (error) return CSJ_INVALID_JSON;
    simdjson::dom::object object;
    if (root.get_object().get(object)) return CSJ_NOT_AN_OBJECT;
    uint32_t previous = 0;
    for (simdjson::dom::key_value_pair member : object) {
        const int32_t slot = keys.find_after(previous, member.key);
        if (slot >= 0) fill(slots[slot], member.value);
        previous = keys.successor_index(slot);
    }
    return CSJ_OK;
}

}  // namespace

extern "C" const csj_value *csj_parse_object(const csj_schema *schema, const uint8_t *bytes, size_t length,
                                             size_t readable_after_end, csj_status *status) {
    // One parser per thread: simdjson parsers are not thread-safe, and reusing one keeps its buffers warm.
    thread_local simdjson::dom::parser parser;
    thread_local PaddedBuffer padded;
    // The slots too: a record of 88 keys needs 2.8 KB of them, more than Swift puts on the stack, and a heap
    // block per message cost a malloc, a free and, at the top of the heap, a trim and regrow.
    thread_local std::unique_ptr<csj_value[]> slots;
    thread_local uint32_t slot_capacity = 0;
    const KeyTable &keys = schema->keys;
    if (slot_capacity < keys.count()) {
        slots.reset(new (std::nothrow) csj_value[keys.count()]);
        slot_capacity = slots ? keys.count() : 0;
        if (!slots) {
            *status = CSJ_OUT_OF_MEMORY;
            return nullptr;
        }
    }
    *status = parse_into(keys, parser, padded, bytes, length, readable_after_end, slots.get());
    return *status == CSJ_OK ? slots.get() : nullptr;
}

extern "C" uint32_t csj_format_double(double value, char *buffer) {
    std::to_chars_result result = std::to_chars(buffer, buffer + 32, value);
    return static_cast<uint32_t>(result.ptr - buffer);
}
