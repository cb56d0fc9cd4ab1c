"""Component types of the trainset project."""

from pipelines.components.training_dataset import TrainingDataset

__all__ = ["TrainingDataset"]
