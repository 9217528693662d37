/* A layer's epilogue, y = act(z + bias[channel]), applied where a kernel stores the linear map's
 * output z (cn_epilogue, include/coopnets/cn_bias.h). The activation codes are cn_activation's
 * (src/nn/bias.c asserts it). The float operations are a bias add followed by the activation
 * kernels' (cl/activation.cl), so fusing them changes no bit. Works on scalars and vectors alike. */
#ifndef CN_EPILOGUE_H
#define CN_EPILOGUE_H

#define CN_EPILOGUE_NONE 0
#define CN_EPILOGUE_RELU 1
#define CN_EPILOGUE_LEAKY_RELU 2
#define CN_EPILOGUE_TANH 3

/* The arguments a kernel with an epilogue takes; `biased` 0: no epilogue at all (bias unread). */
#define CN_EPILOGUE_ARGS const int biased, __global const float *bias, const int activation, const float slope

/* out = the epilogue of z for channel ch; z is evaluated once. */
#define CN_EPILOGUE(out, type, z, ch)                                                                      \
    do {                                                                                                   \
        type v_ = (z);                                                                                     \
        if (biased) {                                                                                      \
            v_ += bias[ch];                                                                                \
            v_ = activation == CN_EPILOGUE_RELU         ? fmax(v_, 0.0f)                                   \
                 : activation == CN_EPILOGUE_LEAKY_RELU ? (v_ > 0.0f ? v_ : slope * v_)                    \
                 : activation == CN_EPILOGUE_TANH       ? tanh(v_)                                         \
                                                        : v_;                                              \
        }                                                                                                  \
        out = v_;                                                                                          \
    } while (0)

#endif
