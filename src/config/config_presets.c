/* The reference networks of DESIGN §3 as layer lists. */
#include <string.h>

#include "config/config_internal.h"

static cn_layer_config conv(int filters, int kernel, int stride, cn_activation act) {
    cn_layer_config l = cn_layer_default(CN_LAYER_CONV);
    l.filters = filters;
    l.kernel = kernel;
    l.stride = stride;
    l.activation = act;
    return l;
}

static cn_layer_config fc(int filters) {
    cn_layer_config l = cn_layer_default(CN_LAYER_FC);
    l.filters = filters;
    return l;
}

/* A hidden generator layer: SAME, batch norm without scale, leaky ReLU (the reference's block). */
static cn_layer_config deconv_hidden(int filters, int kernel, int output_size) {
    cn_layer_config l = cn_layer_default(CN_LAYER_DECONV);
    l.filters = filters;
    l.kernel = kernel;
    l.stride = 2;
    l.output_size = output_size;
    l.batchnorm = 1;
    l.activation = CN_ACT_LEAKY_RELU;
    return l;
}

/* The first generator layer: a 1×1 latent to kernel×kernel, VALID. */
static cn_layer_config deconv_from_latent(int filters, int kernel, int output_size) {
    cn_layer_config l = deconv_hidden(filters, kernel, output_size);
    l.stride = 1;
    l.padding = CN_PAD_VALID;
    return l;
}

/* The image layer: tanh, no batch norm. */
static cn_layer_config deconv_image(int channels, int kernel, int output_size) {
    cn_layer_config l = deconv_hidden(channels, kernel, output_size);
    l.batchnorm = 0;
    l.activation = CN_ACT_TANH;
    return l;
}

static int descriptor_preset(const char *preset, cn_layer_config *l) {
    if (strcmp(preset, "mnist28") == 0) {
        l[0] = conv(64, 4, 2, CN_ACT_LEAKY_RELU);   /* 28 -> 14 */
        l[1] = conv(128, 4, 2, CN_ACT_LEAKY_RELU);  /* -> 7 */
        l[2] = conv(256, 4, 2, CN_ACT_LEAKY_RELU);  /* -> 4 */
        l[3] = fc(100);
        return 4;
    }
    if (strcmp(preset, "scene64") == 0) {
        l[0] = conv(64, 5, 2, CN_ACT_LEAKY_RELU);   /* 64 -> 32 */
        l[1] = conv(128, 3, 2, CN_ACT_LEAKY_RELU);  /* -> 16 */
        l[2] = conv(256, 3, 1, CN_ACT_LEAKY_RELU);  /* -> 16 */
        l[3] = fc(100);
        return 4;
    }
    if (strcmp(preset, "texture") == 0) {
        /* No fc: f sums every response of the last layer, as the texture reference does. */
        l[0] = conv(100, 15, 3, CN_ACT_RELU);
        l[1] = conv(70, 9, 1, CN_ACT_RELU);
        l[2] = conv(30, 7, 1, CN_ACT_RELU);
        return 3;
    }
    return 0;
}

static int generator_preset(const char *preset, int channels, cn_layer_config *l) {
    if (strcmp(preset, "mnist28") == 0) {
        /* 7 is not 4·2: the sizes are given so that each layer is the adjoint of the D conv. */
        l[0] = deconv_from_latent(512, 4, 4);
        l[1] = deconv_hidden(256, 4, 7);
        l[2] = deconv_hidden(128, 4, 14);
        l[3] = deconv_image(channels, 4, 28);
        return 4;
    }
    if (strcmp(preset, "scene64") == 0) {
        l[0] = deconv_from_latent(512, 4, 0); /* -> 4 */
        l[1] = deconv_hidden(256, 5, 0);      /* -> 8 */
        l[2] = deconv_hidden(128, 5, 0);      /* -> 16 */
        l[3] = deconv_hidden(64, 5, 0);       /* -> 32 */
        l[4] = deconv_image(channels, 5, 0);  /* -> 64 */
        return 5;
    }
    if (strcmp(preset, "texture") == 0) {
        /* image_size/32 -> image_size: five doublings. */
        l[0] = deconv_hidden(512, 5, 0);
        l[1] = deconv_hidden(256, 5, 0);
        l[2] = deconv_hidden(128, 5, 0);
        l[3] = deconv_hidden(64, 5, 0);
        l[4] = deconv_image(channels, 5, 0);
        return 5;
    }
    return 0;
}

int cn_preset_layers(const char *preset, int generator, int channels, cn_layer_config *layers) {
    return generator ? generator_preset(preset, channels, layers) : descriptor_preset(preset, layers);
}

void cn_preset_latent(const char *preset, int image_size, int *channels, int *size) {
    if (strcmp(preset, "texture") == 0) {
        *channels = 1;
        *size = image_size / 32;
    } else {
        *channels = 100;
        *size = 1;
    }
}
