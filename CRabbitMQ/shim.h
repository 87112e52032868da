#ifndef MINER_INDEX_CRABBITMQ_SHIM_H
#define MINER_INDEX_CRABBITMQ_SHIM_H

// rabbitmq-c 0.12 moved its headers under rabbitmq-c/; Debian 12 ships 0.11 with the old flat names.
#if __has_include(<rabbitmq-c/amqp.h>)
#include <rabbitmq-c/amqp.h>
#include <rabbitmq-c/tcp_socket.h>
#include <rabbitmq-c/ssl_socket.h>
#else
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <amqp_ssl_socket.h>
#endif

#include <stdint.h>
#include <sys/time.h>
// The clients' I/O threads poll their socket together with an eventfd that other threads signal.
#include <sys/eventfd.h>
#include <poll.h>

// amqp_login and amqp_login_with_properties are variadic (the SASL method's credentials follow as varargs),
// and Swift cannot call C variadic functions. These fix the method to PLAIN.
static inline amqp_rpc_reply_t miner_index_amqp_login_plain(amqp_connection_state_t state, const char *vhost,
                                                            int channel_max, int frame_max, int heartbeat,
                                                            const char *user, const char *password) {
    return amqp_login(state, vhost, channel_max, frame_max, heartbeat, AMQP_SASL_METHOD_PLAIN, user, password);
}

static inline amqp_rpc_reply_t miner_index_amqp_login_plain_with_properties(
    amqp_connection_state_t state, const char *vhost, int channel_max, int frame_max, int heartbeat,
    const amqp_table_t *client_properties, const char *user, const char *password) {
    return amqp_login_with_properties(state, vhost, channel_max, frame_max, heartbeat, client_properties,
                                      AMQP_SASL_METHOD_PLAIN, user, password);
}

#endif
