"""Story clustering: independent reports of one event, in any language, become one story.

Pure Python (no faust or Kafka import), like the rule engine:

- :func:`~streams.stories.features.story_features` describes an article for
  clustering (terms, numbers, entities, figures, categories, a copy sketch);
- :class:`~streams.stories.cluster.Clusterer` decides each article's story,
  explains why, and keeps the open stories of the window
  (:class:`~streams.stories.index.StoryIndex`).
"""

from streams.stories.cluster import Clusterer, ClusterOutcome
from streams.stories.features import story_features

__all__ = ["ClusterOutcome", "Clusterer", "story_features"]
