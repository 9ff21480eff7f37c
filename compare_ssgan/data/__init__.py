"""Datasets: registry, TFDS and local sources, tf.data input pipelines."""
