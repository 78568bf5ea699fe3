"""Keras peer of bench:epoch: one DeepCluster training epoch with model.fit on a tf.data pipeline.

Reads a JSON spec on stdin (paths and pseudo-labels in the epoch's order, image size, channels, batch size, model
and augmentation settings) and prints one JSON line: the epoch's seconds and the mean loss.
"""
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

spec = json.loads(sys.stdin.read())
height, width = spec["imshape"]
channels = spec["channels"]
batch_size = spec["batch_size"]
augment = spec["augment"]
tf.keras.utils.set_random_seed(spec["seed"])


def load(path, label):
    data = tf.io.read_file(path)
    image = tf.io.decode_image(data, channels=0, expand_animations=False)
    image = tf.image.resize(tf.cast(image, tf.float32), [height, width]) / 255.0
    if spec["single_channel"]:
        reps = -(-channels // tf.shape(image)[-1])
        image = tf.tile(image, [1, 1, reps])[:, :, :channels]
    if augment["left_right_flip"]:
        image = tf.image.random_flip_left_right(image)
    if augment["max_brightness_delta"] > 0:
        image = tf.image.random_brightness(image, augment["max_brightness_delta"])
    image = tf.clip_by_value(image, 0.0, 1.0)
    image.set_shape([height, width, channels])
    return image, label


def dataset(paths, labels):
    ds = tf.data.Dataset.from_tensor_slices((paths, labels))
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def bn_alexnet_deepcluster():
    """BNAlexNetFCN (conv + ReLU, then BN; 3x3/2 valid max-pools), flatten, [dropout, dense, ReLU]*, dense(k)."""
    x = inputs = keras.Input([height, width, channels])

    def conv(x, filters, kernel, strides):
        x = layers.Conv2D(filters, kernel, strides=strides, padding="same", activation="relu")(x)
        return layers.BatchNormalization(momentum=0.99, epsilon=1e-3)(x)

    def pool(x):
        return layers.MaxPooling2D(3, strides=2, padding="valid")(x)

    x = pool(conv(x, 96, 11, 4))
    x = pool(conv(x, 256, 5, 1))
    x = conv(x, 384, 3, 1)
    x = conv(x, 384, 3, 1)
    x = pool(conv(x, 256, 3, 1))
    x = layers.Flatten()(x)
    for units in spec["dense"]:
        x = layers.Dropout(0.5)(x)
        x = layers.ReLU()(layers.Dense(units)(x))
    logits = layers.Dense(spec["k"])(x)
    return keras.Model(inputs, logits)


model = bn_alexnet_deepcluster()
model.compile(
    optimizer=keras.optimizers.SGD(learning_rate=spec["lr"], momentum=0.9),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
)
paths, labels = spec["paths"], spec["labels"]
warmup = spec["warmup_steps"] * batch_size
if warmup > 0:
    model.fit(dataset(paths[:warmup], labels[:warmup]), epochs=1, verbose=0)
started = time.perf_counter()
history = model.fit(dataset(paths, labels), epochs=1, verbose=0)
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "loss": float(history.history["loss"][-1]), "images": len(paths)}))
