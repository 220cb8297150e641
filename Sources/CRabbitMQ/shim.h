/* rabbitmq-c (librabbitmq) for Swift. Debian 12 ships 0.11, whose headers
 * are <amqp.h> and <amqp_tcp_socket.h>; newer releases move them under
 * <rabbitmq-c/>. amqp_login is C-variadic, which Swift cannot call: the
 * wrapper below fixes the PLAIN mechanism's two arguments. */
#ifndef PLUGWORKER_CRABBITMQ_SHIM_H
#define PLUGWORKER_CRABBITMQ_SHIM_H
#if __has_include(<rabbitmq-c/amqp.h>)
#include <rabbitmq-c/amqp.h>
#include <rabbitmq-c/tcp_socket.h>
#include <rabbitmq-c/ssl_socket.h>
#else
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <amqp_ssl_socket.h>
#endif

/* amqp_login_with_properties with SASL PLAIN (user, password). */
static inline amqp_rpc_reply_t
cramqp_login_plain(amqp_connection_state_t state, const char *vhost,
                   int channel_max, int frame_max, int heartbeat,
                   const amqp_table_t *client_properties,
                   const char *user, const char *password) {
    return amqp_login_with_properties(state, vhost, channel_max, frame_max,
                                      heartbeat, client_properties,
                                      AMQP_SASL_METHOD_PLAIN, user, password);
}
#endif
