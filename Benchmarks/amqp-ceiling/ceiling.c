/* ceiling: the broker's own consume+ack limit on this machine.
 *
 * A plain C client on librabbitmq (rabbitmq-c) that does the least a worker
 * can do per message: receive it, ack it. Nothing a worker does (decoding,
 * dispatching, publishing results) can make it faster than this, so its rate
 * is the "broker's limit" the worker benchmark compares against.
 *
 *   ceiling --url amqp://guest:guest@localhost:5672/ --queue NAME --count 20000 --prefetch 8 --publish
 *
 * Modes:
 *   --publish        publish COUNT messages, then consume and ack them (default)
 *   --publish-only   only publish
 *   --consume-only   only consume and ack COUNT messages already in the queue
 *
 * Messages are persistent (delivery_mode 2), content_type application/json,
 * SIZE bytes of body (default 300, about a small Celery task message), in a
 * durable queue, as Celery's task queues are. The queue is declared durable,
 * not exclusive, not auto-delete, no arguments; --delete removes it at the end.
 *
 * Build: cc -O2 -o ceiling ceiling.c -lrabbitmq   (or: make)
 */
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

__attribute__((noreturn)) static void die(const char *what, const char *detail) {
    fprintf(stderr, "ceiling: %s: %s\n", what, detail);
    exit(1);
}

static void check_status(int status, const char *what) {
    if (status != AMQP_STATUS_OK) die(what, amqp_error_string2(status));
}

static void check_reply(amqp_rpc_reply_t r, const char *what) {
    char buf[512];
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        return;
    case AMQP_RESPONSE_NONE:
        die(what, "missing RPC reply");
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        die(what, amqp_error_string2(r.library_error));
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            amqp_connection_close_t *m = r.reply.decoded;
            snprintf(buf, sizeof buf, "connection closed: %u %.*s", m->reply_code, (int)m->reply_text.len,
                     (char *)m->reply_text.bytes);
        } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            amqp_channel_close_t *m = r.reply.decoded;
            snprintf(buf, sizeof buf, "channel closed: %u %.*s", m->reply_code, (int)m->reply_text.len,
                     (char *)m->reply_text.bytes);
        } else {
            snprintf(buf, sizeof buf, "unexpected method 0x%08X", r.reply.id);
        }
        die(what, buf);
    }
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void) {
    fprintf(stderr,
            "usage: ceiling [--url URL] [--queue NAME] [--count N] [--prefetch N] [--size BYTES]\n"
            "               [--publish | --publish-only | --consume-only] [--delete] [--global-qos]\n"
            "  defaults: --url amqp://guest:guest@localhost:5672/ --queue plugworker.ceiling\n"
            "            --count 20000 --prefetch 8 --size 300 --publish\n");
    exit(2);
}

/* Declares the durable queue; returns its ready-message count. */
static uint32_t declare(amqp_connection_state_t conn, const char *queue) {
    amqp_queue_declare_ok_t *ok =
        amqp_queue_declare(conn, 1, amqp_cstring_bytes(queue), 0, 1, 0, 0, amqp_empty_table);
    check_reply(amqp_get_rpc_reply(conn), "queue.declare");
    return ok->message_count;
}

static void publish(amqp_connection_state_t conn, const char *queue, long count, size_t size) {
    char *body = malloc(size);
    if (!body) die("malloc", strerror(errno));
    /* A JSON-ish body of the requested size. */
    memset(body, 'x', size);
    if (size >= 2) {
        body[0] = '[';
        body[size - 1] = ']';
    }
    amqp_basic_properties_t props;
    memset(&props, 0, sizeof props);
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.content_type = amqp_cstring_bytes("application/json");
    props.delivery_mode = 2;
    amqp_bytes_t bytes = {size, body};
    uint32_t before = declare(conn, queue);

    double t0 = now();
    for (long i = 0; i < count; i++) {
        check_status(amqp_basic_publish(conn, 1, amqp_empty_bytes, amqp_cstring_bytes(queue), 0, 0, &props, bytes),
                     "basic.publish");
    }
    /* The broker handles a channel's methods in order: once the queue holds
     * them all, publishing is done. */
    uint32_t have;
    while ((have = declare(conn, queue)) < before + count) {
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    double dt = now() - t0;
    printf("publish: %ld msgs of %zu bytes in %.3f s = %.0f msg/s (queue now holds %u)\n", count, size, dt,
           (double)count / dt, have);
    free(body);
}

/* basic.qos global flag: 1 (--global-qos) limits the channel, as Celery
 * workers do on classic queues; 0 limits the consumer. RabbitMQ does more
 * work per delivery for a channel-wide limit. */
static int global_qos = 0;

static void consume(amqp_connection_state_t conn, const char *queue, long count, int prefetch) {
    uint32_t ready = declare(conn, queue);
    if (ready < (uint32_t)count) {
        fprintf(stderr, "ceiling: queue %s holds %u messages, fewer than --count %ld; consuming %u\n", queue, ready,
                count, ready);
        count = ready;
    }
    if (count == 0) die("consume", "nothing to consume");
    amqp_basic_qos(conn, 1, 0, (uint16_t)prefetch, (amqp_boolean_t)global_qos);
    check_reply(amqp_get_rpc_reply(conn), "basic.qos");

    double t0 = now();
    amqp_basic_consume_ok_t *ok = amqp_basic_consume(conn, 1, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0,
                                                     amqp_empty_table);
    check_reply(amqp_get_rpc_reply(conn), "basic.consume");
    amqp_bytes_t tag = amqp_bytes_malloc_dup(ok->consumer_tag);

    long received = 0;
    size_t bytes = 0;
    while (received < count) {
        amqp_envelope_t envelope;
        amqp_maybe_release_buffers(conn);
        amqp_rpc_reply_t r = amqp_consume_message(conn, &envelope, NULL, 0);
        if (r.reply_type != AMQP_RESPONSE_NORMAL) {
            if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
                amqp_frame_t frame;
                check_status(amqp_simple_wait_frame(conn, &frame), "reading a frame");
                if (frame.frame_type == AMQP_FRAME_METHOD && frame.payload.method.id == AMQP_BASIC_CANCEL_METHOD)
                    die("consume", "the broker cancelled the consumer (queue deleted?)");
                continue; /* anything else: ignore */
            }
            check_reply(r, "consuming");
        }
        bytes += envelope.message.body.len;
        check_status(amqp_basic_ack(conn, 1, envelope.delivery_tag, 0), "basic.ack");
        amqp_destroy_envelope(&envelope);
        received++;
    }
    /* Stop the consumer; the cancel-ok also proves every ack before it was
     * processed (the broker handles a channel's methods in order). */
    amqp_basic_cancel(conn, 1, tag);
    check_reply(amqp_get_rpc_reply(conn), "basic.cancel");
    double dt = now() - t0;
    amqp_bytes_free(tag);
    printf("consume+ack: %ld msgs in %.3f s = %.0f msg/s (prefetch %d%s, %.1f MB)\n", received, dt,
           (double)received / dt, prefetch, global_qos ? " global" : "", (double)bytes / 1e6);
}

int main(int argc, char **argv) {
    const char *url = "amqp://guest:guest@localhost:5672/";
    const char *queue = "plugworker.ceiling";
    long count = 20000;
    int prefetch = 8;
    size_t size = 300;
    int do_publish = 1, do_consume = 1, do_delete = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--url") && v) url = argv[++i];
        else if (!strcmp(a, "--queue") && v) queue = argv[++i];
        else if (!strcmp(a, "--count") && v) count = atol(argv[++i]);
        else if (!strcmp(a, "--prefetch") && v) prefetch = atoi(argv[++i]);
        else if (!strcmp(a, "--size") && v) size = (size_t)atol(argv[++i]);
        else if (!strcmp(a, "--publish")) do_publish = 1, do_consume = 1;
        else if (!strcmp(a, "--publish-only")) do_publish = 1, do_consume = 0;
        else if (!strcmp(a, "--consume-only")) do_publish = 0, do_consume = 1;
        else if (!strcmp(a, "--delete")) do_delete = 1;
        else if (!strcmp(a, "--global-qos")) global_qos = 1;
        else usage();
    }
    if (count <= 0 || prefetch < 0 || prefetch > 65535) usage();

    struct amqp_connection_info info;
    /* kombu writes the default vhost as a second slash ("...:5672//"),
     * which amqp_parse_url refuses: spell it "/%2F" for it instead. */
    size_t len = strlen(url);
    char *url_copy = malloc(len + 3);
    strcpy(url_copy, url);
    if (len >= 2 && strcmp(url + len - 2, "//") == 0) strcpy(url_copy + len - 1, "%2F");
    amqp_default_connection_info(&info);
    int status = amqp_parse_url(url_copy, &info);
    if (status != AMQP_STATUS_OK) die("--url", amqp_error_string2(status));
    /* kombu semantics: "amqp://host/" means vhost "/", as does "//". */
    if (info.vhost == NULL || info.vhost[0] == '\0') info.vhost = "/";

    amqp_connection_state_t conn = amqp_new_connection();
    amqp_socket_t *socket = amqp_tcp_socket_new(conn);
    if (!socket) die("socket", "amqp_tcp_socket_new failed");
    status = amqp_socket_open(socket, info.host, info.port);
    if (status != AMQP_STATUS_OK) die("connecting (is RabbitMQ running?)", amqp_error_string2(status));
    check_reply(amqp_login(conn, info.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, info.user, info.password),
                "login");
    amqp_channel_open(conn, 1);
    check_reply(amqp_get_rpc_reply(conn), "channel.open");

    printf("broker %s:%d vhost %s, queue %s (durable), rabbitmq-c %s\n", info.host, info.port, info.vhost, queue,
           amqp_version());
    if (do_publish) publish(conn, queue, count, size);
    if (do_consume) consume(conn, queue, count, prefetch);
    if (do_delete) {
        amqp_queue_delete(conn, 1, amqp_cstring_bytes(queue), 0, 0);
        check_reply(amqp_get_rpc_reply(conn), "queue.delete");
    }

    amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
    free(url_copy);
    return 0;
}
