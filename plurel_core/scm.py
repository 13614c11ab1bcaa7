def sample_features(*args, **kwargs):
    raise NotImplementedError
