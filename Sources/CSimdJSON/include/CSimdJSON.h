// A deliberately thin C view of simdjson for Swift: it parses one flat JSON object and files each member whose
// key is in a caller-supplied schema into that key's slot. Every judgement about the values (types, ranges,
// units) is left to Swift, so this layer has nothing to get wrong beyond parsing.
#ifndef CSIMDJSON_H
#define CSIMDJSON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct csj_schema csj_schema;

typedef enum csj_kind {
    CSJ_ABSENT = 0,
    CSJ_NULL = 1,
    CSJ_BOOL = 2,
    CSJ_NUMBER = 3,
    CSJ_STRING = 4,
    CSJ_ARRAY = 5,
    CSJ_OBJECT = 6,
} csj_kind;

typedef enum csj_status {
    CSJ_OK = 0,
    CSJ_INVALID_JSON = 1,
    CSJ_NOT_AN_OBJECT = 2,
    CSJ_OUT_OF_MEMORY = 3,
} csj_status;

/// One member's value. `string_start` points into the parser's buffer and stays valid only until the next call
/// to `csj_parse_object` on the same thread, so Swift copies what it keeps before returning.
typedef struct csj_value {
    const char *string_start;
    uint32_t string_length;
    /// A csj_kind.
    uint8_t kind;
    /// Set when the number was written without fraction or exponent and fits in an int64.
    uint8_t is_integer;
    uint8_t boolean;
    int64_t integer;
    double number;
} csj_value;

/// Builds a lookup table of `count` keys of at most 32 bytes (NULL if one is longer, or on allocation failure); the
/// slot of key i is i. Safe to share between threads: the keys are immutable, and the only thing that changes is
/// which key it expects next, a hint kept in relaxed atomics.
csj_schema *csj_schema_create(const char *const *keys, const uint32_t *key_lengths, uint32_t count);
void csj_schema_destroy(csj_schema *schema);
uint32_t csj_schema_count(const csj_schema *schema);

/// Parses `bytes` with a parser owned by the calling thread and returns its slots (csj_schema_count entries),
/// or NULL with `*status` saying why. The slots, like the strings they point to, belong to the calling thread and
/// stay valid only until its next call. Members whose keys are not in the schema are skipped; a repeated key keeps
/// its last value. `readable_after_end`: how many bytes after the body are allocated and may be read (never
/// written); with 64 or more the body is parsed in place, otherwise it is first copied into a padded buffer.
const csj_value *csj_parse_object(const csj_schema *schema, const uint8_t *bytes, size_t length,
                                  size_t readable_after_end, csj_status *status);

/// Writes the shortest text that reads back as `value` (std::to_chars); returns its length. `buffer` must hold
/// at least 32 bytes. Non-finite values are the caller's business: JSON cannot carry them.
uint32_t csj_format_double(double value, char *buffer);

#ifdef __cplusplus
}
#endif

#endif
