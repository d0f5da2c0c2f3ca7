// Per-thread scratch buffers: grown on demand, kept across calls, freed when
// their thread exits.
#include "workspace.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    float *buf[CK_WS_SLOTS];
    size_t cap[CK_WS_SLOTS];  // in floats
} ck_ws;

static pthread_key_t ws_key;
static pthread_once_t ws_once = PTHREAD_ONCE_INIT;
static _Thread_local ck_ws *ws_tls;

static void ws_destroy(void *p) {
    ck_ws *ws = p;
    for (int s = 0; s < CK_WS_SLOTS; s++) free(ws->buf[s]);
    free(ws);
}

static void ws_make_key(void) { pthread_key_create(&ws_key, ws_destroy); }

static ck_ws *ws_self(void) {
    if (ws_tls) return ws_tls;
    // The pthread key only exists to free the buffers at thread exit.
    pthread_once(&ws_once, ws_make_key);
    ck_ws *ws = calloc(1, sizeof *ws);
    if (!ws) {
        fprintf(stderr, "ckernels: out of memory for a workspace\n");
        abort();
    }
    pthread_setspecific(ws_key, ws);
    ws_tls = ws;
    return ws;
}

float *ck_ws_floats(int slot, size_t count) {
    ck_ws *ws = ws_self();
    if (count <= ws->cap[slot] && ws->buf[slot]) return ws->buf[slot];
    // Grow by at least half again so slowly rising requests stay O(log n).
    size_t cap = ws->cap[slot] + ws->cap[slot] / 2;
    if (cap < count) cap = count;
    if (cap < 16) cap = 16;
    cap = (cap + 15) & ~(size_t)15;  // whole 64-byte lines
    free(ws->buf[slot]);
    ws->buf[slot] = NULL;
    ws->cap[slot] = 0;
    void *p = NULL;
    if (posix_memalign(&p, 64, cap * sizeof(float)) != 0) {
        fprintf(stderr, "ckernels: cannot allocate %zu bytes of workspace\n",
                cap * sizeof(float));
        abort();
    }
    ws->buf[slot] = p;
    ws->cap[slot] = cap;
    return p;
}

void ck_ws_release(void) {
    ck_ws *ws = ws_tls;
    if (!ws) return;
    for (int s = 0; s < CK_WS_SLOTS; s++) {
        free(ws->buf[s]);
        ws->buf[s] = NULL;
        ws->cap[s] = 0;
    }
}
