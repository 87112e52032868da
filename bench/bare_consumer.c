/* The physical limit of bench/ingest.py: a consumer written in C on rabbitmq-c alone, with no Swift and no work per
 * message. It subscribes with manual acknowledgements and the given prefetch, sends one multiple-ack every
 * `--ack-every` deliveries (and one for the last), stops after `--expect` messages and prints one JSON line with
 * its count, the time from the first delivery to the last, and its own CPU time (getrusage), like
 * `amqp-drain-bench drain`.
 *
 * Built by bench/build.sh: gcc -O2 -o <scratch>/release/bare-consumer bench/bare_consumer.c -lrabbitmq
 */
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static void usage(const char *program) {
    fprintf(stderr,
            "usage: %s --queue NAME --expect N [--amqp-url URL] [--prefetch N] [--ack-every N]\n", program);
    exit(2);
}

static void fail(const char *what, amqp_rpc_reply_t reply) {
    if (reply.reply_type == AMQP_RESPONSE_NORMAL) return;
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
        fprintf(stderr, "%s: %s\n", what, amqp_error_string2(reply.library_error));
    } else {
        fprintf(stderr, "%s: server method 0x%08x\n", what, reply.reply.id);
    }
    exit(1);
}

static double seconds_of(struct timeval value) { return (double)value.tv_sec + (double)value.tv_usec / 1e6; }

static double monotonic_seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    const char *url_text = "amqp://guest:guest@127.0.0.1:5672/";
    const char *queue = NULL;
    long expect = -1, prefetch = 500, ack_every = 50;
    for (int index = 1; index + 1 < argc; index += 2) {
        if (strcmp(argv[index], "--amqp-url") == 0) url_text = argv[index + 1];
        else if (strcmp(argv[index], "--queue") == 0) queue = argv[index + 1];
        else if (strcmp(argv[index], "--expect") == 0) expect = atol(argv[index + 1]);
        else if (strcmp(argv[index], "--prefetch") == 0) prefetch = atol(argv[index + 1]);
        else if (strcmp(argv[index], "--ack-every") == 0) ack_every = atol(argv[index + 1]);
        else usage(argv[0]);
    }
    if (argc % 2 == 0 || !queue || expect < 0 || prefetch < 1 || prefetch > 65535 || ack_every < 1) usage(argv[0]);

    struct amqp_connection_info url;
    char *url_copy = strdup(url_text);
    if (amqp_parse_url(url_copy, &url) != AMQP_STATUS_OK) {
        fprintf(stderr, "cannot parse the URL\n");
        return 2;
    }
    /* As the project's ConnectionSettings reads it: a bare "/" path is the default vhost, not the empty one. */
    const char *vhost = url.vhost[0] == '\0' ? "/" : url.vhost;
    amqp_connection_state_t connection = amqp_new_connection();
    amqp_socket_t *socket = amqp_tcp_socket_new(connection);
    if (!socket || amqp_socket_open(socket, url.host, url.port) != AMQP_STATUS_OK) {
        fprintf(stderr, "cannot connect to %s:%d\n", url.host, url.port);
        return 1;
    }
    fail("login", amqp_login(connection, vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, url.user, url.password));
    amqp_channel_open(connection, 1);
    fail("channel.open", amqp_get_rpc_reply(connection));
    amqp_basic_qos(connection, 1, 0, (uint16_t)prefetch, 0);
    fail("basic.qos", amqp_get_rpc_reply(connection));
    amqp_basic_consume(connection, 1, amqp_cstring_bytes(queue), amqp_cstring_bytes("bare-c-consumer"), 0, 0, 0,
                       amqp_empty_table);
    fail("basic.consume", amqp_get_rpc_reply(connection));

    long received = 0, unacked = 0;
    double first = 0, last = 0;
    struct timeval patience = {.tv_sec = 60, .tv_usec = 0};
    while (received < expect) {
        amqp_maybe_release_buffers(connection);
        amqp_envelope_t envelope;
        amqp_rpc_reply_t reply = amqp_consume_message(connection, &envelope, &patience, 0);
        fail("consuming", reply);
        if (received == 0) first = monotonic_seconds();
        received += 1;
        unacked += 1;
        if (unacked >= ack_every || received == expect) {
            if (amqp_basic_ack(connection, 1, envelope.delivery_tag, 1) != AMQP_STATUS_OK) {
                fprintf(stderr, "basic.ack failed\n");
                return 1;
            }
            unacked = 0;
        }
        amqp_destroy_envelope(&envelope);
    }
    last = monotonic_seconds();
    amqp_channel_close(connection, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(connection, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(connection);
    free(url_copy);

    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    printf("{\"messages\": %ld, \"seconds\": %.6f, \"cpu_seconds\": %.6f}\n", received, last - first,
           seconds_of(usage.ru_utime) + seconds_of(usage.ru_stime));
    return 0;
}
