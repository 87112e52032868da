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
// TLS verification is configured on the SSL_CTX of rabbitmq-c's socket (see miner_index_tls_verify_during_handshake).
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

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

// rabbitmq-c 0.11 checks the peer after the handshake with its own hostname matcher, which knows DNS names only:
// a certificate for IP:127.0.0.1 never matches a connection to 127.0.0.1, and the reason for a failed chain
// check is lost behind "SSL peer cert verification failed". Instead, OpenSSL verifies the chain and the host
// (X509_check_host or X509_check_ip) during the handshake, which it aborts on failure, and this callback
// records the first error so that the caller can say what was wrong with which certificate.
typedef struct {
    int error;  // an X509_V_ERR_* code; 0 while nothing failed
    int depth;  // 0 is the peer's own certificate
    char subject[256];
} miner_index_tls_verify_failure;

static inline int miner_index_tls_verify_callback(int preverify_ok, X509_STORE_CTX *store) {
    if (preverify_ok) return 1;
    SSL *ssl = (SSL *)X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    miner_index_tls_verify_failure *failure =
        ssl ? (miner_index_tls_verify_failure *)SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) : NULL;
    if (failure && failure->error == 0) {
        failure->error = X509_STORE_CTX_get_error(store);
        failure->depth = X509_STORE_CTX_get_error_depth(store);
        X509 *certificate = X509_STORE_CTX_get_current_cert(store);
        if (certificate) {
            X509_NAME_oneline(X509_get_subject_name(certificate), failure->subject, (int)sizeof failure->subject);
        }
    }
    return 0;
}

// Returns 1 on success. `host` is matched as an IP address if it is one, else as a DNS name; with
// `use_default_ca` the system's trust store is loaded (rabbitmq-c loads none by itself).
static inline int miner_index_tls_verify_during_handshake(amqp_socket_t *socket, const char *host, int check_host,
                                                          int use_default_ca,
                                                          miner_index_tls_verify_failure *failure) {
    SSL_CTX *context = (SSL_CTX *)amqp_ssl_socket_get_context(socket);
    if (!context) return 0;
    if (use_default_ca && SSL_CTX_set_default_verify_paths(context) != 1) return 0;
    if (check_host) {
        X509_VERIFY_PARAM *parameters = SSL_CTX_get0_param(context);
        X509_VERIFY_PARAM_set_hostflags(parameters, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (X509_VERIFY_PARAM_set1_ip_asc(parameters, host) != 1) {
            ERR_clear_error();  // not an IP address
            if (X509_VERIFY_PARAM_set1_host(parameters, host, 0) != 1) return 0;
        }
    }
    SSL_CTX_set_app_data(context, failure);
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, miner_index_tls_verify_callback);
    return 1;
}

// The text of the oldest error in this thread's OpenSSL error queue, which is then emptied; 0 if it was empty.
static inline int miner_index_tls_take_error(char *buffer, size_t size) {
    unsigned long code = ERR_get_error();
    if (code == 0) return 0;
    ERR_error_string_n(code, buffer, size);
    ERR_clear_error();
    return 1;
}

#endif
