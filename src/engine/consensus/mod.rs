//! Annotation consensus (issue 4): majority vote, Dawid-Skene, CROWDLAB, ActiveLab,
//! agreement statistics.
