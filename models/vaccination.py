"""Vaccination records as captured at sites, and the vaccine catalog (immunization store)."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from models.base import ImmunizationTable, utcnow


class RecordStatus(StrEnum):
    VALID = "VALID"
    ENTERED_IN_ERROR = "ENTERED_IN_ERROR"


class Vaccine(ImmunizationTable, table=True):
    __tablename__ = "vaccines"

    code: str = Field(primary_key=True, max_length=20)
    name: str = Field(max_length=100)
    brand_names: str = Field(max_length=200)
    manufacturer: str = Field(max_length=100)
    primary_series_doses: int = Field(ge=1)


class VaccinationRecord(ImmunizationTable, table=True):
    __tablename__ = "vaccination_records"
    __table_args__ = (
        sa.UniqueConstraint("source_system", "source_record_id"),
        sa.Index("ix_vaccination_records_phone_dob", "phone", "date_of_birth"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    source_system: str = Field(max_length=50)
    source_record_id: str = Field(max_length=100)
    # Identifiers exactly as typed at the site (phone normalised when it parses).
    national_id: str | None = Field(default=None, max_length=20, index=True)
    insurance_number: str | None = Field(default=None, max_length=20, index=True)
    phone: str | None = Field(default=None, max_length=15)
    full_name: str = Field(max_length=200)
    date_of_birth: date | None = None
    vaccine_code: str = Field(foreign_key="vaccines.code", max_length=20)
    dose_number: int = Field(ge=1)
    administered_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    lot_number: str | None = Field(default=None, max_length=40)
    site_name: str = Field(max_length=200)
    province_code: str = Field(max_length=2, index=True)
    status: RecordStatus = Field(default=RecordStatus.VALID, sa_type=sa.String(20))
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


@dataclass(frozen=True)
class VaccineCatalogEntry:
    code: str
    name: str
    brand_names: str
    manufacturer: str
    primary_series_doses: int


VACCINE_CATALOG = (
    VaccineCatalogEntry("AZD1222", "AstraZeneca", "Vaxzevria", "AstraZeneca", 2),
    VaccineCatalogEntry("BNT162b2", "Pfizer-BioNTech", "Comirnaty", "Pfizer-BioNTech", 2),
    VaccineCatalogEntry("mRNA-1273", "Moderna", "Spikevax", "Moderna", 2),
    VaccineCatalogEntry(
        "BBIBP-CorV", "Sinopharm Vero Cell", "Vero Cell, Hayat-Vax", "Sinopharm (BIBP)", 2
    ),
    VaccineCatalogEntry("Gam-COVID-Vac", "Sputnik V", "Sputnik V", "Gamaleya", 2),
    VaccineCatalogEntry("Ad26.COV2.S", "Janssen", "Jcovden", "Janssen", 1),
    VaccineCatalogEntry("CIGB-66", "Abdala", "Abdala", "CIGB", 3),
)
