"""Measuring generated samples: a course digit classifier, a Fréchet distance on its features
(a course FID, not Inception FID), and sample-to-data distances for 2-D toy data."""
