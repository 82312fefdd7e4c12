from hearth.journey.fixtures import journey

__all__ = ["journey"]
