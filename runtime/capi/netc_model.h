/* netc_model.h: the C interface of a model compiled with
 *   netc compile MODEL.nn -o libmodel.a --emit lib
 * Link: libmodel.a -lpthread -ldl (fmt and zlib are inside; a C++ runtime: link with c++,
 * or add -lstdc++). Threads: NETC_THREADS or HL_NUM_THREADS (default: all).
 *
 * Every function that can fail returns 0 on success and -1 on failure;
 * netc_last_error() then says why. A model is not thread-safe: use one per
 * thread. Batches may be any size from 1 to netc_model_max_batch(). */
#ifndef NETC_MODEL_H
#define NETC_MODEL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct netc_model netc_model;

/* A model whose weights are drawn by the model's initializers from `seed`
 * (the same weights `OUT train --seed` starts from). NULL on failure. */
netc_model* netc_model_create(uint64_t seed);
void netc_model_destroy(netc_model* model);

/* The message of the last failure in this thread. */
const char* netc_last_error(void);

/* Weights, optimizer state and statistics in safetensors format, the same
 * files `OUT train --save` writes; loading checks that the file belongs to
 * this model. */
int netc_model_load_weights(netc_model* model, const char* path);
int netc_model_save_weights(netc_model* model, const char* path);

/* Sizes, per example: the data input, the labels (class indices count 1), the
 * first output. */
int64_t netc_model_input_size(const netc_model* model);
int64_t netc_model_label_size(const netc_model* model);
int64_t netc_model_output_size(const netc_model* model);
int64_t netc_model_max_batch(const netc_model* model);

/* One training step (forward, backward, optimizer update) on a batch:
 * x is [batch, input_size] floats, labels [batch, label_size] int32 class
 * indices (or floats for float targets). Writes the batch's loss. */
int netc_model_train_step(netc_model* model, const float* x, const void* labels, int64_t batch,
                          float* loss);

/* Inference on a batch: writes the first output, [batch, output_size]. */
int netc_model_forward(netc_model* model, const float* x, int64_t batch, float* out);

/* Sets a runtime scalar: "lr", "beta1", a dropout's "LAYER.keep", ... */
int netc_model_set_hyper(netc_model* model, const char* name, double value);

#ifdef __cplusplus
}
#endif

#endif
