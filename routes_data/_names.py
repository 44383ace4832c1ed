"""Plausible Indonesian street names for the synthetic network.

Every street gets a distinct name (a base plus a Roman numeral when the base repeats),
so a resident can search for "Jl. Kenanga III" and land on exactly one street.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PRIMARY_NAMES", "StreetNamer"]

#: Arterial names borrowed from Kupang's real main roads; placement here is synthetic.
PRIMARY_NAMES: tuple[str, ...] = (
    "Jl. El Tari",
    "Jl. Frans Seda",
    "Jl. W.J. Lalamentik",
    "Jl. Timor Raya",
    "Jl. Soeharto",
    "Jl. Adisucipto",
    "Jl. Herman Johannes",
    "Jl. Piet A. Tallo",
    "Jl. Moh. Hatta",
    "Jl. Cak Doko",
    "Jl. Perintis Kemerdekaan",
    "Jl. Prof. Dr. W.Z. Johannes",
)

_SECONDARY = (
    "Sudirman",
    "Diponegoro",
    "Imam Bonjol",
    "Pattimura",
    "Kartini",
    "Cut Nyak Dien",
    "Teuku Umar",
    "Gatot Subroto",
    "Ahmad Yani",
    "W.R. Supratman",
    "Hasanuddin",
    "Sam Ratulangi",
    "Yos Sudarso",
    "R.E. Martadinata",
    "Sisingamangaraja",
    "M.H. Thamrin",
    "H.O.S. Cokroaminoto",
    "Dewi Sartika",
    "Ki Hajar Dewantara",
    "Wolter Monginsidi",
    "Slamet Riyadi",
    "Pierre Tendean",
    "Urip Sumoharjo",
    "Untung Suropati",
    "Ngurah Rai",
    "Nani Wartabone",
    "Frans Kaisiepo",
    "Izaak Huru Doko",
    "Sultan Agung",
    "Gajah Mada",
)

_RESIDENTIAL = (
    "Mawar",
    "Melati",
    "Anggrek",
    "Kenanga",
    "Cempaka",
    "Flamboyan",
    "Bougenvil",
    "Teratai",
    "Kamboja",
    "Dahlia",
    "Seroja",
    "Asoka",
    "Asam",
    "Lontar",
    "Kelapa",
    "Cendana",
    "Kesambi",
    "Beringin",
    "Nangka",
    "Mangga",
    "Jambu",
    "Srikaya",
    "Sirsak",
    "Delima",
    "Pepaya",
    "Pisang",
    "Kedondong",
    "Sukun",
    "Gewang",
    "Kenari",
    "Mahoni",
    "Jati",
    "Akasia",
    "Rote",
    "Sabu",
    "Alor",
    "Flores",
    "Sumba",
    "Semau",
    "Lembata",
    "Adonara",
    "Ende",
    "Bajawa",
    "Maumere",
    "Larantuka",
    "Atambua",
    "Kefamenanu",
    "Soe",
    "Waingapu",
    "Ruteng",
    "Kalabahi",
    "Ba'a",
    "Seba",
    "Bhakti",
    "Pemuda",
    "Damai",
    "Sejahtera",
    "Harapan",
    "Kasih",
    "Mutiara",
    "Nusa Indah",
    "Pelangi",
    "Bintang",
    "Matahari",
    "Bulan Purnama",
    "Rajawali",
    "Merpati",
    "Kakatua",
    "Nuri",
    "Cendrawasih",
    "Elang",
    "Kutilang",
    "Pelikan",
    "Camar",
    "Lumba-Lumba",
    "Tuna",
    "Kerapu",
    "Kakap",
    "Cumi",
    "Terumbu Karang",
    "Sasando",
    "Tenun Ikat",
    "Ti'i Langga",
    "Ledo",
    "Bonet",
    "Gong",
    "Nusa Cendana",
    "Kampung Baru",
    "Tanjung",
    "Batu Karang",
    "Oemanu",
    "Oenesu",
    "Oelamasi",
    "Oekabiti",
    "Oepoi",
    "Oesao",
    "Oeba",
    "Oetona",
)

_ROMAN = ("", " II", " III", " IV", " V", " VI", " VII", " VIII", " IX", " X", " XI", " XII")


class StreetNamer:
    """Hands out unique street names, drawing bases at random from a seeded generator."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._used: dict[str, int] = {}

    def _take(self, pool: tuple[str, ...]) -> str:
        for _ in range(64):
            base = pool[int(self._rng.integers(len(pool)))]
            count = self._used.get(base, 0)
            if count < len(_ROMAN):
                self._used[base] = count + 1
                return f"Jl. {base}{_ROMAN[count]}"
        count = self._used.get(base, 0)
        self._used[base] = count + 1
        return f"Jl. {base} {count + 1}"

    def secondary(self) -> str:
        """A name for a neighbourhood collector road (national heroes)."""
        return self._take(_SECONDARY)

    def residential(self) -> str:
        """A name for a residential street (flowers, trees, islands, NTT towns)."""
        return self._take(_RESIDENTIAL)
