"""The tools of the tool-call fixtures: the same functions for chatstream's --functions and for LangChain
(scripts/langchain_tool_events.py makes StructuredTools of them)."""

from typing import Annotated, Literal


def get_weather(city: Annotated[str, "the city's name"]) -> str:
    """The weather in a city now."""
    return f"sunny, 21 °C in {city}"


def get_forecast(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius", days: int = 1) -> dict:
    """The forecast for a city, day by day."""
    return {"city": city, "unit": unit, "days": [{"day": day + 1, "high": 20 + day} for day in range(days)]}


def now() -> str:
    """The date and time."""
    return "2026-12-08T06:00:00+00:00 (UTC, Tuesday)"
